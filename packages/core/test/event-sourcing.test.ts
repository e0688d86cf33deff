import { describe, expect, test, vi } from 'vitest';
import { runInUnitOfWork, UnitOfWork } from '../src/buses/unit-of-work';
import {
  AggregateNotFoundError,
  AggregateRoot,
  type AppendResult,
  type CheckpointStore,
  ConcurrencyError,
  ConfigError,
  DomainEvent,
  type EventInit,
  EventSerializer,
  EventSourcedRepository,
  type EventStore,
  type ExpectedVersion,
  MessageDecodeError,
  MessageRegistry,
  type NewEvent,
  Projection,
  ProjectionError,
  type ProjectionLease,
  Projector,
  renameEvent,
  retryOnConcurrencyError,
  type Snapshot,
  type StoredEvent,
  snapshotEvery,
  UnknownMessageTypeError,
  UpcasterChain,
  upcaster,
} from '../src/index';

/** Amounts are decimal strings with two places; state keeps integer cents. */
function cents(amount: string): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2));
}

class AccountOpened extends DomainEvent {
  static readonly messageType = 'test.AccountOpened';
  constructor(
    readonly owner: string,
    readonly openedOn: Date,
    init?: EventInit,
  ) {
    super(init);
  }
}

class MoneyDeposited extends DomainEvent {
  static readonly messageType = 'test.MoneyDeposited';
  static readonly schemaVersion = 2;
  constructor(
    readonly amount: string,
    readonly currency: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

class MoneyWithdrawn extends DomainEvent {
  static readonly messageType = 'test.MoneyWithdrawn';
  constructor(
    readonly amount: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

/** An event no aggregate applies (it changes nothing but is still stored). */
class StatementRequested extends DomainEvent {
  static readonly messageType = 'test.StatementRequested';
}

interface AccountState {
  owner: string;
  openedOn: Date;
  balance: bigint;
  deposits: number;
}

class Account extends AggregateRoot<AccountState> {
  static override readonly aggregateType = 'test.Account';
  owner = '';
  openedOn = new Date(0);
  balance = 0n;
  deposits = 0;

  constructor(id: string) {
    super(id);
    this.on(AccountOpened, (event) => {
      this.owner = event.owner;
      this.openedOn = event.openedOn;
    });
    this.on(MoneyDeposited, (event) => {
      this.balance += cents(event.amount);
      this.deposits += 1;
    });
    this.on(MoneyWithdrawn, (event) => {
      if (cents(event.amount) > this.balance) throw new Error('applier refuses an overdraft');
      this.balance -= cents(event.amount);
    });
  }

  open(owner: string, openedOn: Date): void {
    this.raise(new AccountOpened(owner, openedOn));
  }
  deposit(amount: string): void {
    this.raise(new MoneyDeposited(amount, 'USD'));
  }
  withdraw(amount: string): void {
    this.raise(new MoneyWithdrawn(amount));
  }
  requestStatement(): void {
    this.raise(new StatementRequested());
  }

  /** Exposes `raise` to tests that need to hand in a prepared event. */
  raiseForTest(event: DomainEvent): void {
    this.raise(event);
  }

  state(): AccountState {
    return { owner: this.owner, openedOn: this.openedOn, balance: this.balance, deposits: this.deposits };
  }

  override snapshot(): AccountState {
    return this.state();
  }

  override restore(state: AccountState): void {
    this.owner = state.owner;
    this.openedOn = state.openedOn;
    this.balance = state.balance;
    this.deposits = state.deposits;
  }
}

/**
 * The smallest honest EventStore for unit tests (core cannot depend on @finaegis/memory). It
 * records calls so tests can see what the repository asked for.
 */
class TinyEventStore implements EventStore {
  readonly name = 'tiny';
  readonly streams = new Map<string, StoredEvent[]>();
  readonly all: StoredEvent[] = [];
  readonly snapshots = new Map<string, Snapshot>();
  readonly reads: { streamId: string; fromVersion: number }[] = [];
  failSnapshots = false;

  async append(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: ExpectedVersion },
  ): Promise<AppendResult> {
    const stream = this.streams.get(streamId) ?? [];
    const expected = options.expectedVersion;
    const current = stream.length;
    if (typeof expected === 'number' && expected !== current)
      throw new ConcurrencyError(streamId, expected, current);
    if (expected === 'no_stream' && current !== 0) throw new ConcurrencyError(streamId, 0, current);
    if (expected === 'exists' && current === 0) throw new ConcurrencyError(streamId, 1, 0);
    for (const event of events) {
      const stored: StoredEvent = JSON.parse(
        JSON.stringify({ ...event, streamId, version: stream.length + 1, position: this.all.length + 1 }),
      );
      stream.push(stored);
      this.all.push(stored);
    }
    this.streams.set(streamId, stream);
    return { version: stream.length, position: this.all.length };
  }

  async readStream(streamId: string, options: { fromVersion?: number; limit?: number } = {}) {
    const fromVersion = options.fromVersion ?? 1;
    this.reads.push({ streamId, fromVersion });
    const events = (this.streams.get(streamId) ?? []).slice(fromVersion - 1);
    return options.limit === undefined ? events : events.slice(0, options.limit);
  }

  async readAll(options: { after?: number; limit?: number } = {}) {
    const events = this.all.slice(options.after ?? 0);
    return options.limit === undefined ? events : events.slice(0, options.limit);
  }

  async streamVersion(streamId: string) {
    return this.streams.get(streamId)?.length ?? 0;
  }

  async saveSnapshot(snapshot: Snapshot) {
    if (this.failSnapshots) throw new Error('snapshot storage is down');
    this.snapshots.set(snapshot.streamId, JSON.parse(JSON.stringify(snapshot)));
  }

  async loadSnapshot(streamId: string) {
    return this.snapshots.get(streamId);
  }

  async close() {}
}

const registry = () =>
  new MessageRegistry().register(AccountOpened, MoneyDeposited, MoneyWithdrawn, StatementRequested);

function fakeBus() {
  return {
    published: [] as DomainEvent[],
    recorded: [] as DomainEvent[],
    async publishMultiple(events: readonly DomainEvent[]) {
      this.published.push(...events);
    },
    record(event: DomainEvent) {
      this.recorded.push(event);
    },
  };
}

function repositoryOn(
  store: EventStore,
  options: Partial<ConstructorParameters<typeof EventSourcedRepository<Account>>[1]> = {},
) {
  return new EventSourcedRepository(Account, {
    store,
    registry: registry(),
    inUnitOfWork: () => false,
    ...options,
  });
}

const opened = new Date('2024-01-02T03:04:05.678Z');

describe('AggregateRoot', () => {
  test('raise gives the event its identity, applies it and queues it', () => {
    const account = new Account('a-1');
    account.open('ada', opened);
    account.deposit('10.25');
    expect(account.version).toBe(2);
    expect(account.persistedVersion).toBe(0);
    expect(account.balance).toBe(1025n);
    const [first, second] = account.uncommittedEvents;
    expect(first).toBeInstanceOf(AccountOpened);
    expect([first?.aggregateId, first?.aggregateType, first?.version]).toEqual(['a-1', 'test.Account', 1]);
    expect(second?.version).toBe(2);
  });

  test('state after replaying the history equals the state the live calls produced', () => {
    const live = new Account('a-1');
    live.open('ada', opened);
    live.deposit('10.25');
    live.withdraw('3.10');
    live.requestStatement();
    live.deposit('0.05');
    const replayed = new Account('a-1');
    replayed.loadFromHistory(live.uncommittedEvents);
    expect(replayed.state()).toEqual(live.state());
    expect(replayed.version).toBe(live.version);
    expect(replayed.uncommittedEvents).toHaveLength(0);
  });

  test('an applier that throws leaves the aggregate unchanged and nothing queued', () => {
    const account = new Account('a-1');
    account.deposit('1.00');
    expect(() => account.withdraw('5.00')).toThrow(/overdraft/);
    expect(account.balance).toBe(100n);
    expect(account.version).toBe(1);
    expect(account.uncommittedEvents).toHaveLength(1);
  });
});

describe('EventSerializer', () => {
  test('round-trips payload, dates, identity and metadata through a store', async () => {
    const serializer = new EventSerializer(registry());
    const store = new TinyEventStore();
    const event = new AccountOpened('ada', opened, {
      aggregateId: 'a-1',
      aggregateType: 'test.Account',
      correlationId: 'corr-1',
      causationId: 'cause-1',
      metadata: { user: 'u-7' },
    });
    await store.append('s', [serializer.serialize(event)], { expectedVersion: 0 });
    const [stored] = await store.readStream('s');
    const back = serializer.deserialize(stored!) as AccountOpened;
    expect(back).toBeInstanceOf(AccountOpened);
    expect(back.openedOn).toBeInstanceOf(Date);
    expect(back.openedOn.getTime()).toBe(opened.getTime());
    expect(back.owner).toBe('ada');
    expect([back.eventId, back.occurredAt.getTime()]).toEqual([event.eventId, event.occurredAt.getTime()]);
    expect([back.aggregateId, back.aggregateType, back.version]).toEqual(['a-1', 'test.Account', 1]);
    expect([back.correlationId, back.causationId]).toEqual(['corr-1', 'cause-1']);
    expect(back.metadata).toEqual({ user: 'u-7' });
    expect(stored?.metadata.schemaVersion).toBe(1);
  });

  test('only registered classes are written or rebuilt', () => {
    const serializer = new EventSerializer(new MessageRegistry().register(AccountOpened));
    expect(() => serializer.serialize(new MoneyWithdrawn('1.00'))).toThrow(UnknownMessageTypeError);
    const stored: StoredEvent = {
      streamId: 's',
      version: 1,
      position: 1,
      eventId: 'e-1',
      type: 'test.Unheard',
      data: {},
      metadata: {},
      occurredAt: 0,
    };
    expect(() => serializer.deserialize(stored)).toThrow(UnknownMessageTypeError);
  });

  test('a stored shape older than its class without an upcaster is a decode error', () => {
    const serializer = new EventSerializer(registry());
    const stored: StoredEvent = {
      streamId: 's',
      version: 1,
      position: 1,
      eventId: 'e-1',
      type: 'test.MoneyDeposited',
      data: { cents: 100 },
      metadata: { schemaVersion: 1 },
      occurredAt: 0,
    };
    expect(() => serializer.deserialize(stored)).toThrow(MessageDecodeError);
  });
});

describe('upcasters', () => {
  const v1: StoredEvent = {
    streamId: 's',
    version: 1,
    position: 1,
    eventId: 'e-1',
    type: 'bank.Deposit',
    data: { cents: 1050 },
    metadata: {},
    occurredAt: 0,
  };

  test('a renamed v1 event becomes the current v2 class', () => {
    const serializer = new EventSerializer(registry(), {
      upcasters: [
        renameEvent('bank.Deposit', 'test.MoneyDeposited'),
        upcaster('test.MoneyDeposited', 1, (data) => ({
          amount:
            (BigInt(data.cents as number) / 100n).toString() +
            '.' +
            String((data.cents as number) % 100).padStart(2, '0'),
          currency: 'USD',
        })),
      ],
    });
    const event = serializer.deserialize(v1) as MoneyDeposited;
    expect(event).toBeInstanceOf(MoneyDeposited);
    expect({ amount: event.amount, currency: event.currency }).toEqual({ amount: '10.50', currency: 'USD' });
  });

  test('a loop of upcasters is reported, not run forever', () => {
    const chain = new UpcasterChain([renameEvent('a', 'b'), renameEvent('b', 'a')]);
    expect(() => chain.upcast({ type: 'a', schemaVersion: 1, data: {}, metadata: {} })).toThrow(
      MessageDecodeError,
    );
  });

  test('two upcasters for the same type and version are rejected', () => {
    expect(() => new UpcasterChain([renameEvent('a', 'b'), renameEvent('a', 'c')])).toThrow(ConfigError);
  });
});

describe('snapshotEvery', () => {
  test('fires when a save crosses a multiple, also for multi-event saves', () => {
    const policy = snapshotEvery(10);
    expect(policy.shouldSnapshot({ previousVersion: 0, version: 9 })).toBe(false);
    expect(policy.shouldSnapshot({ previousVersion: 9, version: 10 })).toBe(true);
    expect(policy.shouldSnapshot({ previousVersion: 8, version: 13 })).toBe(true);
    expect(policy.shouldSnapshot({ previousVersion: 10, version: 19 })).toBe(false);
    expect(() => snapshotEvery(0)).toThrow(ConfigError);
  });
});

describe('retryOnConcurrencyError', () => {
  const quick = { backoff: { type: 'fixed', delayMs: 0 } } as const;

  test('runs again after a ConcurrencyError and returns the result', async () => {
    const onRetry = vi.fn();
    let runs = 0;
    const result = await retryOnConcurrencyError(
      async (attempt) => {
        runs++;
        if (attempt < 3) throw new ConcurrencyError('s', 1, 2);
        return 'done';
      },
      { ...quick, onRetry },
    );
    expect(result).toBe('done');
    expect(runs).toBe(3);
    expect(onRetry).toHaveBeenCalledTimes(2);
  });

  test('other errors are thrown at once', async () => {
    let runs = 0;
    await expect(
      retryOnConcurrencyError(async () => {
        runs++;
        throw new Error('boom');
      }, quick),
    ).rejects.toThrow('boom');
    expect(runs).toBe(1);
  });

  test('after the last attempt the ConcurrencyError is thrown', async () => {
    let runs = 0;
    await expect(
      retryOnConcurrencyError(
        async () => {
          runs++;
          throw new ConcurrencyError('s', 1, 2);
        },
        { ...quick, attempts: 4 },
      ),
    ).rejects.toBeInstanceOf(ConcurrencyError);
    expect(runs).toBe(4);
  });
});

describe('EventSourcedRepository', () => {
  test('saves new events expecting the loaded version and loads the same state', async () => {
    const store = new TinyEventStore();
    const repository = repositoryOn(store);
    const account = repository.create('a-1');
    account.open('ada', opened);
    account.deposit('5.00');
    expect((await repository.save(account)).version).toBe(2);
    expect(account.uncommittedEvents).toHaveLength(0);
    expect(account.persistedVersion).toBe(2);
    expect([...store.streams.keys()]).toEqual(['test.Account-a-1']);
    const loaded = await repository.load('a-1');
    expect(loaded.state()).toEqual(account.state());
    expect(loaded.version).toBe(2);
  });

  test('a stale aggregate fails with ConcurrencyError and writes nothing', async () => {
    const store = new TinyEventStore();
    const repository = repositoryOn(store);
    const first = repository.create('a-1');
    first.open('ada', opened);
    await repository.save(first);
    const one = await repository.load('a-1');
    const two = await repository.load('a-1');
    one.deposit('1.00');
    await repository.save(one);
    two.deposit('2.00');
    await expect(repository.save(two)).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await repository.load('a-1')).balance).toBe(100n);
  });

  test('load of an unknown id throws AggregateNotFoundError; find gives undefined', async () => {
    const repository = repositoryOn(new TinyEventStore());
    await expect(repository.load('nobody')).rejects.toBeInstanceOf(AggregateNotFoundError);
    expect(await repository.find('nobody')).toBeUndefined();
  });

  test('an aggregate class without aggregateType is a configuration error', () => {
    class Nameless extends AggregateRoot {}
    expect(
      () => new EventSourcedRepository(Nameless, { store: new TinyEventStore(), registry: registry() }),
    ).toThrow(ConfigError);
  });

  test('publishes saved events when no unit of work is active', async () => {
    const bus = fakeBus();
    const repository = repositoryOn(new TinyEventStore(), { bus });
    const account = repository.create('a-1');
    account.open('ada', opened);
    account.deposit('1.00');
    await repository.save(account);
    expect(bus.published.map((event) => event.eventType)).toEqual([
      'test.AccountOpened',
      'test.MoneyDeposited',
    ]);
    expect(bus.recorded).toHaveLength(0);
  });

  test('records saved events instead while a unit of work is active (the default check)', async () => {
    const bus = fakeBus();
    const store = new TinyEventStore();
    const repository = new EventSourcedRepository(Account, { store, registry: registry(), bus });
    await runInUnitOfWork(new UnitOfWork(true), async () => {
      const account = repository.create('a-1');
      account.open('ada', opened);
      await repository.save(account);
    });
    expect(bus.recorded.map((event) => event.eventType)).toEqual(['test.AccountOpened']);
    expect(bus.published).toHaveLength(0);
    const outside = repository.create('a-2');
    outside.open('bob', opened);
    await repository.save(outside);
    expect(bus.published.map((event) => event.aggregateId)).toEqual(['a-2']);
  });

  test('snapshots per policy, and loads from the snapshot plus later events only', async () => {
    const store = new TinyEventStore();
    const repository = repositoryOn(store, { snapshotPolicy: snapshotEvery(3) });
    const account = repository.create('a-1');
    account.open('ada', opened);
    account.deposit('1.00');
    await repository.save(account);
    expect(store.snapshots.size).toBe(0);
    account.deposit('2.00');
    account.deposit('3.00');
    await repository.save(account);
    expect(store.snapshots.get('test.Account-a-1')?.version).toBe(4);
    account.deposit('4.00');
    await repository.save(account);
    store.reads.length = 0;
    const loaded = await repository.load('a-1');
    expect(store.reads).toEqual([{ streamId: 'test.Account-a-1', fromVersion: 5 }]);
    expect(loaded.state()).toEqual(account.state());
    expect(loaded.openedOn).toBeInstanceOf(Date);
    expect(loaded.version).toBe(5);
  });

  test('a snapshot of another schema version is ignored and the events are replayed', async () => {
    const store = new TinyEventStore();
    const repository = repositoryOn(store);
    const account = repository.create('a-1');
    account.open('ada', opened);
    account.deposit('1.00');
    await repository.save(account);
    await store.saveSnapshot({
      streamId: 'test.Account-a-1',
      version: 2,
      state: { state: {} },
      schemaVersion: 99,
    });
    store.reads.length = 0;
    expect((await repository.load('a-1')).state()).toEqual(account.state());
    expect(store.reads[0]?.fromVersion).toBe(1);
  });

  test('a failing snapshot does not fail the save', async () => {
    const store = new TinyEventStore();
    store.failSnapshots = true;
    const onSnapshotError = vi.fn();
    const repository = repositoryOn(store, { snapshotPolicy: snapshotEvery(1), onSnapshotError });
    const account = repository.create('a-1');
    account.open('ada', opened);
    await repository.save(account);
    expect(onSnapshotError).toHaveBeenCalledTimes(1);
    expect(await store.streamVersion('test.Account-a-1')).toBe(1);
  });

  test('loads long streams page by page', async () => {
    const store = new TinyEventStore();
    const repository = repositoryOn(store, { pageSize: 4 });
    const account = repository.create('a-1');
    account.open('ada', opened);
    for (let i = 0; i < 9; i++) account.deposit('1.00');
    await repository.save(account);
    store.reads.length = 0;
    const loaded = await repository.load('a-1');
    expect(loaded.balance).toBe(900n);
    expect(store.reads.map((read) => read.fromVersion)).toEqual([1, 5, 9]);
  });
});

class MemoryCheckpoints implements CheckpointStore {
  readonly positions = new Map<string, number>();
  async load(name: string) {
    return this.positions.get(name) ?? 0;
  }
  async save(name: string, position: number) {
    this.positions.set(name, position);
  }
}

describe('Projector', () => {
  async function seeded() {
    const store = new TinyEventStore();
    const repository = repositoryOn(store);
    for (const id of ['a-1', 'a-2']) {
      const account = repository.create(id);
      account.open(id, opened);
      account.deposit('1.00');
      account.requestStatement();
      account.deposit('2.50');
      await repository.save(account);
    }
    return store;
  }

  function balances() {
    const model = new Map<string, bigint>();
    const applied: number[] = [];
    const projection = new Projection('balances')
      .on(MoneyDeposited, (event, { position }) => {
        model.set(event.aggregateId, (model.get(event.aggregateId) ?? 0n) + cents(event.amount));
        applied.push(position);
      })
      .onReset(() => {
        model.clear();
        applied.length = 0;
      });
    return { model, applied, projection };
  }

  test('catchUp applies handled events, skips the rest and keeps a checkpoint', async () => {
    const store = await seeded();
    const checkpoints = new MemoryCheckpoints();
    const { model, applied, projection } = balances();
    const projector = new Projector(projection, { store, checkpoints, registry: registry() });
    expect(await projector.lag()).toBe(8);
    expect(await projector.catchUp()).toEqual({ applied: 4, position: 8 });
    expect(Object.fromEntries(model)).toEqual({ 'a-1': 350n, 'a-2': 350n });
    expect(applied).toEqual([2, 4, 6, 8]);
    expect(await checkpoints.load('balances')).toBe(8);
    expect(await projector.lag()).toBe(0);
    expect(await projector.catchUp()).toEqual({ applied: 0, position: 8 });
  });

  test('a failing handler stops at its event with ProjectionError; the next run retries it', async () => {
    const store = await seeded();
    const checkpoints = new MemoryCheckpoints();
    let failAt: number | undefined = 4;
    const seen: number[] = [];
    const projection = new Projection('flaky').on(MoneyDeposited, (_event, { position }) => {
      if (position === failAt) throw new Error('read model down');
      seen.push(position);
    });
    const projector = new Projector(projection, { store, checkpoints, registry: registry() });
    const error = await projector.catchUp().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProjectionError);
    expect((error as ProjectionError).position).toBe(4);
    expect(await checkpoints.load('flaky')).toBe(3);
    failAt = undefined;
    await projector.catchUp();
    expect(seen).toEqual([2, 4, 6, 8]);
  });

  test('rebuild empties the read model and gives the same result', async () => {
    const store = await seeded();
    const { model, projection } = balances();
    const projector = new Projector(projection, {
      store,
      checkpoints: new MemoryCheckpoints(),
      registry: registry(),
    });
    await projector.catchUp();
    const before = Object.fromEntries(model);
    model.set('junk', 1n);
    expect(await projector.rebuild()).toEqual({ applied: 4, position: 8 });
    expect(Object.fromEntries(model)).toEqual(before);
  });

  test('running continuously, it reports a failure and recovers from it', async () => {
    const store = await seeded();
    const errors: unknown[] = [];
    let failuresLeft = 1;
    const seen: number[] = [];
    const projection = new Projection('recovering').on(MoneyDeposited, (_event, { position }) => {
      if (failuresLeft-- > 0) throw new Error('read model briefly down');
      seen.push(position);
    });
    const projector = new Projector(projection, {
      store,
      checkpoints: new MemoryCheckpoints(),
      registry: registry(),
      pollIntervalMs: 1,
      onError: (error) => errors.push(error),
    });
    projector.start();
    for (let i = 0; i < 500 && seen.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 2));
    await projector.stop();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ProjectionError);
    expect(seen).toEqual([2, 4, 6, 8]);
    expect(projector.running).toBe(false);
  });

  /** One holder at a time, in memory: what an advisory lock gives the PostgreSQL runner. */
  class SharedLease {
    constructor(readonly shared: { holder: string | undefined }) {}
    forProcess(id: string): ProjectionLease {
      return {
        acquire: async () => {
          if (this.shared.holder === undefined) this.shared.holder = id;
          return this.shared.holder === id;
        },
        release: async () => {
          if (this.shared.holder === id) this.shared.holder = undefined;
        },
      };
    }
  }

  test('with a lease, only the holder applies events; another takes over when it stops', async () => {
    const store = await seeded();
    const checkpoints = new MemoryCheckpoints();
    const leases = new SharedLease({ holder: undefined });
    const appliedBy: string[] = [];
    const projectors = ['p1', 'p2', 'p3'].map(
      (id) =>
        new Projector(
          new Projection('leased').on(MoneyDeposited, () => {
            appliedBy.push(id);
          }),
          { store, checkpoints, registry: registry(), pollIntervalMs: 1, lease: leases.forProcess(id) },
        ),
    );
    for (const projector of projectors) projector.start();
    for (let i = 0; i < 500 && appliedBy.length < 4; i++) await new Promise((r) => setTimeout(r, 2));
    const first = leases.shared.holder!;
    expect(appliedBy).toEqual([first, first, first, first]);
    const holder = projectors[['p1', 'p2', 'p3'].indexOf(first)]!;
    await holder.stop();
    expect(leases.shared.holder).toBeUndefined();
    // New events go to the next holder only, from the shared checkpoint.
    const repository = repositoryOn(store);
    const account = await repository.load('a-1');
    account.deposit('1.00');
    await repository.save(account);
    for (let i = 0; i < 500 && appliedBy.length < 5; i++) await new Promise((r) => setTimeout(r, 2));
    const second = leases.shared.holder!;
    expect(second).not.toBe(first);
    expect(appliedBy).toEqual([first, first, first, first, second]);
    for (const projector of projectors) await projector.stop();
  });

  test('wake() makes a running projector read now instead of after its poll interval', async () => {
    const store = await seeded();
    const seen: number[] = [];
    const projector = new Projector(
      new Projection('woken').on(MoneyDeposited, (_event, { position }) => {
        seen.push(position);
      }),
      { store, checkpoints: new MemoryCheckpoints(), registry: registry(), pollIntervalMs: 60_000 },
    );
    projector.start();
    for (let i = 0; i < 500 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 2));
    const repository = repositoryOn(store);
    const account = await repository.load('a-2');
    account.deposit('1.00');
    await repository.save(account);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(4);
    projector.wake();
    for (let i = 0; i < 500 && seen.length < 5; i++) await new Promise((r) => setTimeout(r, 2));
    expect(seen).toHaveLength(5);
    await projector.stop();
  });
});

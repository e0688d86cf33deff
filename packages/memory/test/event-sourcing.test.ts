import {
  AggregateRoot,
  ConcurrencyError,
  createCqrs,
  DomainEvent,
  type EventInit,
  EventSourcedRepository,
  type EventSourcedRepositoryOptions,
  MessageRegistry,
  Projection,
  Projector,
  retryOnConcurrencyError,
  silentLogger,
  snapshotEvery,
  upcaster,
} from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import {
  createMemoryCheckpointStore,
  createMemoryEventStore,
  createMemoryTransactionManager,
  type MemoryEventStore,
} from '../src/index';
import { cents, until } from './helpers';

class WalletOpened extends DomainEvent {
  static readonly messageType = 'wallet.Opened';
  constructor(
    readonly owner: string,
    readonly openedAt: Date,
    init?: EventInit,
  ) {
    super(init);
  }
}

/** v2 carries the currency; v1 (stored before) had only `amount`. */
class FundsAdded extends DomainEvent {
  static readonly messageType = 'wallet.FundsAdded';
  static readonly schemaVersion = 2;
  constructor(
    readonly amount: string,
    readonly currency: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

class FundsSpent extends DomainEvent {
  static readonly messageType = 'wallet.FundsSpent';
  constructor(
    readonly amount: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

interface WalletState {
  owner: string;
  openedAt: Date;
  balance: bigint;
  history: string[];
}

class Wallet extends AggregateRoot<WalletState> {
  static override readonly aggregateType = 'wallet.Wallet';
  owner = '';
  openedAt = new Date(0);
  balance = 0n;
  history: string[] = [];

  constructor(id: string) {
    super(id);
    this.on(WalletOpened, (event) => {
      this.owner = event.owner;
      this.openedAt = event.openedAt;
    });
    this.on(FundsAdded, (event) => {
      this.balance += cents(event.amount);
      this.history.push(`+${event.amount} ${event.currency}`);
    });
    this.on(FundsSpent, (event) => {
      this.balance -= cents(event.amount);
      this.history.push(`-${event.amount}`);
    });
  }

  open(owner: string): void {
    this.raise(new WalletOpened(owner, new Date('2025-06-30T12:00:00.001Z')));
  }
  add(amount: string): void {
    this.raise(new FundsAdded(amount, 'EUR'));
  }
  spend(amount: string): void {
    if (cents(amount) > this.balance) throw new RangeError('insufficient funds');
    this.raise(new FundsSpent(amount));
  }

  state(): WalletState {
    return { owner: this.owner, openedAt: this.openedAt, balance: this.balance, history: [...this.history] };
  }
  override snapshot(): WalletState {
    return this.state();
  }
  override restore(state: WalletState): void {
    this.owner = state.owner;
    this.openedAt = state.openedAt;
    this.balance = state.balance;
    this.history = [...state.history];
  }
}

const registry = () => new MessageRegistry().register(WalletOpened, FundsAdded, FundsSpent);

function wallets(store: MemoryEventStore, options: Partial<EventSourcedRepositoryOptions<Wallet>> = {}) {
  return new EventSourcedRepository(Wallet, { store, registry: registry(), ...options });
}

/** A pseudo-random but repeatable sequence of operations. */
function runOperations(wallet: Wallet, count: number): void {
  let seed = 7;
  for (let i = 0; i < count; i++) {
    seed = (seed * 48271) % 2147483647;
    const amount = `${seed % 500}.${String(seed % 100).padStart(2, '0')}`;
    if (seed % 3 === 0 && cents(amount) <= wallet.balance) wallet.spend(amount);
    else wallet.add(amount);
  }
}

describe('event sourcing on the memory event store', () => {
  test('state after replay equals the state the live calls produced', async () => {
    const store = createMemoryEventStore();
    const repository = wallets(store);
    const live = repository.create('w-1');
    live.open('ada');
    runOperations(live, 250);
    const liveState = live.state();
    await repository.save(live);
    const loaded = await repository.load('w-1');
    expect(loaded.state()).toEqual(liveState);
    expect(loaded.version).toBe(251);
    expect(loaded.openedAt).toBeInstanceOf(Date);
  });

  test('loading from snapshots gives the same state as a full replay', async () => {
    const store = createMemoryEventStore();
    const withSnapshots = wallets(store, { snapshotPolicy: snapshotEvery(25) });
    const wallet = withSnapshots.create('w-1');
    wallet.open('ada');
    await withSnapshots.save(wallet);
    for (let round = 0; round < 12; round++) {
      runOperations(wallet, 9);
      await withSnapshots.save(wallet);
    }
    const snapshot = await store.loadSnapshot('wallet.Wallet-w-1');
    expect(snapshot?.version).toBeGreaterThan(0);
    expect(snapshot?.version).toBeLessThan(wallet.version);

    // Full replay: a store holding the same events and no snapshot.
    const replayStore = createMemoryEventStore();
    await replayStore.append('wallet.Wallet-w-1', await store.readStream('wallet.Wallet-w-1'), {
      expectedVersion: 0,
    });
    const fromSnapshot = await withSnapshots.load('w-1');
    const fullReplay = await wallets(replayStore).load('w-1');
    expect(fromSnapshot.state()).toEqual(fullReplay.state());
    expect(fromSnapshot.state()).toEqual(wallet.state());
    expect(fromSnapshot.version).toBe(fullReplay.version);
  });

  test('N concurrent writers lose no update: losers get ConcurrencyError and the retry completes them', async () => {
    const writers = 12;
    const store = createMemoryEventStore();
    const repository = wallets(store);
    const created = repository.create('w-1');
    created.open('ada');
    await repository.save(created);

    // Every writer loads before anyone saves, so the first round really races.
    let loadedCount = 0;
    let releaseAll!: () => void;
    const allLoaded = new Promise<void>((resolve) => (releaseAll = resolve));
    const conflicts: ConcurrencyError[] = [];
    const firstTryFailures: number[] = [];

    await Promise.all(
      Array.from({ length: writers }, (_, writer) =>
        retryOnConcurrencyError(
          async (attempt) => {
            const wallet = await repository.load('w-1');
            if (attempt === 1) {
              if (++loadedCount === writers) releaseAll();
              await allLoaded;
            }
            wallet.add(`${writer + 1}.00`);
            await repository.save(wallet);
          },
          {
            attempts: writers,
            onRetry: (error, attempt) => {
              conflicts.push(error);
              if (attempt === 1) firstTryFailures.push(writer);
            },
          },
        ),
      ),
    );

    expect(firstTryFailures).toHaveLength(writers - 1);
    expect(conflicts.every((error) => error instanceof ConcurrencyError)).toBe(true);
    const final = await repository.load('w-1');
    expect(final.version).toBe(1 + writers);
    // 1 + 2 + ... + N euros: every writer's deposit is there once.
    expect(final.balance).toBe(BigInt((writers * (writers + 1)) / 2) * 100n);
    expect(final.history).toHaveLength(writers);
  });

  test('an old v1 event is upcast to the current v2 class on read', async () => {
    const store = createMemoryEventStore();
    const repository = wallets(store, {
      upcasters: [upcaster('wallet.FundsAdded', 1, (data) => ({ ...data, currency: 'USD' }))],
    });
    const wallet = repository.create('w-1');
    wallet.open('ada');
    await repository.save(wallet);
    // Written by an older release: schemaVersion 1, no currency.
    await store.append(
      'wallet.Wallet-w-1',
      [
        {
          eventId: 'legacy-1',
          type: 'wallet.FundsAdded',
          data: { amount: '7.25' },
          metadata: { schemaVersion: 1, aggregateId: 'w-1', aggregateType: 'wallet.Wallet' },
          occurredAt: Date.UTC(2020, 0, 1),
        },
      ],
      { expectedVersion: 1 },
    );
    const loaded = await repository.load('w-1');
    expect(loaded.history).toEqual(['+7.25 USD']);
    expect(loaded.balance).toBe(725n);
  });
});

describe('projections on the memory event store', () => {
  async function seed(store: MemoryEventStore, walletsCount: number, operations: number, prefix = 'w') {
    const repository = wallets(store);
    for (let i = 0; i < walletsCount; i++) {
      const wallet = repository.create(`${prefix}-${i}`);
      wallet.open(`owner-${i}`);
      runOperations(wallet, operations);
      await repository.save(wallet);
    }
  }

  function balancesProjection(name = 'balances') {
    const balances = new Map<string, bigint>();
    const applications = new Map<string, number>();
    const count = (eventId: string) => applications.set(eventId, (applications.get(eventId) ?? 0) + 1);
    const projection = new Projection(name)
      .on(FundsAdded, (event) => {
        balances.set(event.aggregateId, (balances.get(event.aggregateId) ?? 0n) + cents(event.amount));
        count(event.eventId);
      })
      .on(FundsSpent, (event) => {
        balances.set(event.aggregateId, (balances.get(event.aggregateId) ?? 0n) - cents(event.amount));
        count(event.eventId);
      })
      .onReset(() => {
        balances.clear();
        applications.clear();
      });
    return { balances, applications, projection };
  }

  test('a projection stopped midway resumes from its checkpoint without re-applying or skipping', async () => {
    const store = createMemoryEventStore();
    await seed(store, 4, 30);
    const checkpoints = createMemoryCheckpointStore();
    const model = balancesProjection();

    let handled = 0;
    let first!: Projector;
    const stopping = new Projection('balances')
      .on(FundsAdded, async (event, context) => {
        await model.projection.apply(event, context);
        if (++handled === 37) void first.stop();
      })
      .on(FundsSpent, async (event, context) => {
        await model.projection.apply(event, context);
        if (++handled === 37) void first.stop();
      });
    first = new Projector(stopping, { store, checkpoints, registry: registry(), batchSize: 16 });
    const partial = await first.catchUp();
    expect(partial.applied).toBe(37);
    expect(await first.lag()).toBeGreaterThan(0);

    // A new process: a new projector on the same checkpoint store and read model.
    const second = new Projector(model.projection, {
      store,
      checkpoints,
      registry: registry(),
      batchSize: 16,
    });
    await second.catchUp();
    expect(await second.lag()).toBe(0);
    expect(model.applications.size).toBe(4 * 30);
    expect([...model.applications.values()].every((times) => times === 1)).toBe(true);

    const truth = new Map<string, bigint>();
    const repository = wallets(store);
    for (let i = 0; i < 4; i++) truth.set(`w-${i}`, (await repository.load(`w-${i}`)).balance);
    expect(model.balances).toEqual(truth);
  });

  test('a rebuild from position 0 gives the same read model', async () => {
    const store = createMemoryEventStore();
    await seed(store, 3, 20);
    const { balances, applications, projection } = balancesProjection();
    const projector = new Projector(projection, {
      store,
      checkpoints: createMemoryCheckpointStore(),
      registry: registry(),
    });
    await projector.catchUp();
    const before = new Map(balances);
    const rebuilt = await projector.rebuild();
    expect(rebuilt.applied).toBe(60);
    expect(balances).toEqual(before);
    expect([...applications.values()].every((times) => times === 1)).toBe(true);
  });

  test('running continuously, a projection follows new events until stopped', async () => {
    const store = createMemoryEventStore();
    await seed(store, 1, 5);
    const { applications, projection } = balancesProjection();
    const projector = new Projector(projection, {
      store,
      checkpoints: createMemoryCheckpointStore(),
      registry: registry(),
      pollIntervalMs: 5,
    });
    projector.start();
    expect(projector.running).toBe(true);
    await seed(store, 1, 5, 'later');
    await until(() => applications.size === 10, 'the projection to see the 10 fund events of both wallets');
    await projector.stop();
    expect(projector.running).toBe(false);
    expect(await projector.lag()).toBe(0);
  });
});

describe('the repository inside a transaction of the buses', () => {
  test('events leave after commit, and not at all on rollback', async () => {
    const app = createCqrs({ transactionManager: createMemoryTransactionManager(), logger: silentLogger });
    const store = createMemoryEventStore();
    const repository = wallets(store, { bus: app.eventBus });
    const seen: string[] = [];
    app.eventBus.subscribe(WalletOpened, (event) => {
      seen.push(event.aggregateId);
    });

    await app.transaction(async () => {
      const wallet = repository.create('w-ok');
      wallet.open('ada');
      await repository.save(wallet);
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual(['w-ok']);

    await expect(
      app.transaction(async () => {
        const wallet = repository.create('w-rolled-back');
        wallet.open('bob');
        await repository.save(wallet);
        throw new Error('business rule failed after saving');
      }),
    ).rejects.toThrow('business rule failed');
    expect(seen).toEqual(['w-ok']);

    const outside = repository.create('w-direct');
    outside.open('cy');
    await repository.save(outside);
    expect(seen).toEqual(['w-ok', 'w-direct']);
    await app.close();
  });
});

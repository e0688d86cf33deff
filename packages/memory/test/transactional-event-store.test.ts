import { AsyncResource } from 'node:async_hooks';
import {
  AggregateRoot,
  Command,
  CommandExecutionError,
  ConcurrencyError,
  type Cqrs,
  createCqrs,
  DomainEvent,
  type EventInit,
  EventSourcedRepository,
  type ExpectedVersion,
  MessageRegistry,
  newId,
  type StoredEvent,
  silentLogger,
  snapshotEvery,
  type TransactionContext,
  type TransactionManager,
  TransactionTimeoutError,
  type Transport,
  UnitOfWorkError,
} from '@finaegis/core';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  createMemoryCheckpointStore,
  createMemoryEventStore,
  createMemoryTransactionManager,
  createMemoryTransport,
  type MemoryEventStore,
} from '../src/index';
import { cents } from './helpers';

class Deposited extends DomainEvent {
  static readonly messageType = 'bank.Deposited';
  constructor(
    readonly amount: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

class Account extends AggregateRoot<{ balance: string }> {
  static override readonly aggregateType = 'bank.Account';
  balance = 0n;

  constructor(id: string) {
    super(id);
    this.on(Deposited, (event) => {
      this.balance += cents(event.amount);
    });
  }

  deposit(amount: string): void {
    this.raise(new Deposited(amount));
  }
  override snapshot(): { balance: string } {
    return { balance: this.balance.toString() };
  }
  override restore(state: { balance: string }): void {
    this.balance = BigInt(state.balance);
  }
}

/**
 * Deposits into an account; `then` runs after the save, still inside the command (to fail it, or
 * to hold the transaction open at a known point).
 */
class Deposit extends Command<number> {
  static readonly messageType = 'bank.Deposit';
  constructor(
    readonly accountId: string,
    readonly amount: string,
    readonly then?: () => Promise<void>,
  ) {
    super();
  }
}

/** An async command, sent through the transport after commit. */
class Notify extends Command<void> {
  static readonly messageType = 'bank.Notify';
  constructor(readonly note: string) {
    super();
  }
}

interface Bank {
  readonly app: Cqrs;
  readonly store: MemoryEventStore;
  readonly accounts: EventSourcedRepository<Account>;
  /** `accountId:amount` of every Deposited event the event bus published. */
  readonly published: string[];
}

const apps: Cqrs[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function bank(
  options: { transactionManager?: TransactionManager; snapshots?: boolean; transport?: Transport } = {},
): Bank {
  const app = createCqrs({
    transactionManager: options.transactionManager ?? createMemoryTransactionManager(),
    logger: silentLogger,
    ...(options.transport === undefined ? {} : { transport: options.transport }),
  });
  apps.push(app);
  const store = createMemoryEventStore();
  const accounts = new EventSourcedRepository(Account, {
    store,
    registry: new MessageRegistry().register(Deposited),
    bus: app.eventBus,
    ...(options.snapshots === true ? { snapshotPolicy: snapshotEvery(1) } : {}),
  });
  const published: string[] = [];
  app.eventBus.subscribe(Deposited, (event) => {
    published.push(`${event.aggregateId}:${event.amount}`);
  });
  app.commandBus.register(Deposit, async (command) => {
    const account = (await accounts.find(command.accountId)) ?? accounts.create(command.accountId);
    account.deposit(command.amount);
    const { version } = await accounts.save(account);
    await command.then?.();
    return version;
  });
  return { app, store, accounts, published };
}

/** Everything a reader outside any transaction can see. */
async function everything(store: MemoryEventStore, streams: readonly string[]) {
  const versions: Record<string, number> = {};
  for (const stream of streams) versions[stream] = await store.streamVersion(stream);
  return { all: await store.readAll(), head: await store.headPosition(), versions };
}

function failWith(message: string): () => Promise<void> {
  return async () => {
    throw new Error(message);
  };
}

/** A promise and the function that settles it, to hold a transaction open at a known point. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * Appends one event from the async context this is called in (outside any transaction), even when
 * the returned function is called from inside one: another writer, committing meanwhile.
 */
function writerOutside(store: MemoryEventStore) {
  return AsyncResource.bind((streamId: string, expectedVersion: ExpectedVersion) =>
    store.append(streamId, [event()], { expectedVersion }),
  );
}

const event = () => ({ eventId: newId(), type: 'test.Happened', data: {}, metadata: {}, occurredAt: 0 });
const streamsOf = (events: readonly StoredEvent[]) =>
  events.map((e) => `${e.streamId}@${e.version}#${e.position}`);

describe('MemoryEventStore in a MemoryTransactionManager transaction (through createCqrs)', () => {
  test('a failing second command leaves the store exactly as it was and publishes nothing', async () => {
    const { app, store, published } = bank();
    await app.commandBus.dispatch(new Deposit('acc-1', '10.00'));
    published.length = 0;
    const before = await everything(store, ['bank.Account-acc-1', 'bank.Account-acc-2']);
    expect(before.head).toBe(1);

    const error = await app.commandBus
      .dispatchTransaction([
        new Deposit('acc-1', '5.00'),
        new Deposit('acc-2', '7.00', failWith('limit exceeded after saving')),
      ])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CommandExecutionError);
    expect((error as Error).message).toContain('bank.Deposit');
    expect(await everything(store, ['bank.Account-acc-1', 'bank.Account-acc-2'])).toEqual(before);
    expect(before.versions).toEqual({ 'bank.Account-acc-1': 1, 'bank.Account-acc-2': 0 });
    expect(published).toEqual([]);
  });

  test('a successful transaction makes every append visible at once, then publishes', async () => {
    const { app, store, published } = bank();
    const secondSaved = gate();
    const release = gate();
    const streams = ['bank.Account-acc-1', 'bank.Account-acc-2'];
    const seenMidway = (async () => {
      // Started outside the transaction: this reader never takes part in it.
      await secondSaved.promise;
      const view = await everything(store, streams);
      release.open();
      return view;
    })();

    const results = await app.commandBus.dispatchTransaction([
      new Deposit('acc-1', '5.00'),
      new Deposit('acc-2', '7.00', async () => {
        secondSaved.open();
        await release.promise;
      }),
    ]);

    expect(await seenMidway).toEqual({
      all: [],
      head: 0,
      versions: { 'bank.Account-acc-1': 0, 'bank.Account-acc-2': 0 },
    });
    expect(results).toEqual([1, 1]);
    const after = await everything(store, streams);
    expect(streamsOf(after.all)).toEqual(['bank.Account-acc-1@1#1', 'bank.Account-acc-2@1#2']);
    expect(after.head).toBe(2);
    expect(published).toEqual(['acc-1:5.00', 'acc-2:7.00']);
    expect(Object.isFrozen(after.all[0])).toBe(true);
  });

  test('a timeout drops the staged appends, and the late work cannot write any more', async () => {
    // Fake timers: the timeout fires when the test says so, not when a busy machine gets to it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { app, store, published } = bank();
    const saved = gate();
    const release = gate();
    let lateError: unknown;
    const lateDone = gate();
    const outcome = app.commandBus
      .dispatchTransaction(
        [
          new Deposit('acc-1', '5.00'),
          new Deposit('acc-2', '7.00', async () => {
            saved.open();
            await release.promise;
            lateError = await store
              .append('bank.Account-acc-3', [event()], { expectedVersion: 0 })
              .catch((e: unknown) => e);
            lateDone.open();
          }),
        ],
        { timeout: 30 },
      )
      .catch((e: unknown) => e);
    await saved.promise;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await outcome).toBeInstanceOf(TransactionTimeoutError);
    release.open();
    await lateDone.promise;

    expect(lateError).toBeInstanceOf(UnitOfWorkError);
    expect((lateError as Error).message).toMatch(/already rolled back/);
    expect(
      await everything(store, ['bank.Account-acc-1', 'bank.Account-acc-2', 'bank.Account-acc-3']),
    ).toEqual({
      all: [],
      head: 0,
      versions: { 'bank.Account-acc-1': 0, 'bank.Account-acc-2': 0, 'bank.Account-acc-3': 0 },
    });
    expect(published).toEqual([]);
  });

  test('two transactions writing one stream at the same version: one commits, the other rejects and leaves nothing', async () => {
    const { app, store, published } = bank();
    await app.commandBus.dispatch(new Deposit('acc-1', '1.00'));
    published.length = 0;
    const bothStaged = [gate(), gate()];
    const commitFirst = gate();
    const commitSecond = gate();

    const first = app.commandBus.dispatchTransaction([
      new Deposit('acc-1', '10.00', async () => {
        bothStaged[0]!.open();
        await commitFirst.promise;
      }),
    ]);
    const second = app.commandBus
      .dispatchTransaction([
        new Deposit('acc-other', '3.00'),
        new Deposit('acc-1', '20.00', async () => {
          bothStaged[1]!.open();
          await commitSecond.promise;
        }),
      ])
      .catch((e: unknown) => e);
    // Both have read acc-1 at version 1 and staged version 2: neither conflicts yet.
    await Promise.all(bothStaged.map((g) => g.promise));
    commitFirst.open();
    expect(await first).toEqual([2]);
    commitSecond.open();
    const error = await second;

    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ streamId: 'bank.Account-acc-1', expectedVersion: 1, actualVersion: 2 });
    const after = await everything(store, ['bank.Account-acc-1', 'bank.Account-acc-other']);
    expect(after.versions).toEqual({ 'bank.Account-acc-1': 2, 'bank.Account-acc-other': 0 });
    expect(streamsOf(after.all)).toEqual(['bank.Account-acc-1@1#1', 'bank.Account-acc-1@2#2']);
    expect(after.all.map((e) => e.data.amount)).toEqual(['1.00', '10.00']);
    expect(published).toEqual(['acc-1:10.00']);
  });

  test('reads inside the transaction see its own writes; reads outside see them only after commit', async () => {
    const { app, store, accounts } = bank({ snapshots: true });
    await store.append('other', [event()], { expectedVersion: 0 });
    const checkpoints = createMemoryCheckpointStore();
    await checkpoints.save('balances', 1);
    const staged = gate();
    const release = gate();
    const outside = (async () => {
      await staged.promise;
      const view = {
        stream: await store.readStream('bank.Account-acc-1'),
        version: await store.streamVersion('bank.Account-acc-1'),
        all: await store.readAll(),
        head: await store.headPosition(),
        snapshot: await store.loadSnapshot('bank.Account-acc-1'),
        checkpoint: await checkpoints.load('balances'),
      };
      release.open();
      return view;
    })();

    const inside = await app.transaction(async () => {
      const account = accounts.create('acc-1');
      account.deposit('2.50');
      await accounts.save(account);
      const again = await accounts.load('acc-1');
      again.deposit('0.50');
      await accounts.save(again);
      await checkpoints.save('balances', 2);
      const view = {
        balance: (await accounts.load('acc-1')).balance,
        stream: streamsOf(await store.readStream('bank.Account-acc-1')),
        from2: streamsOf(await store.readStream('bank.Account-acc-1', { fromVersion: 2, limit: 5 })),
        version: await store.streamVersion('bank.Account-acc-1'),
        all: streamsOf(await store.readAll()),
        after2: streamsOf(await store.readAll({ after: 2, limit: 1 })),
        head: await store.headPosition(),
        snapshot: (await store.loadSnapshot('bank.Account-acc-1'))?.version,
        checkpoint: await checkpoints.load('balances'),
      };
      staged.open();
      await release.promise;
      return view;
    });

    expect(inside).toEqual({
      balance: 300n,
      stream: ['bank.Account-acc-1@1#2', 'bank.Account-acc-1@2#3'],
      from2: ['bank.Account-acc-1@2#3'],
      version: 2,
      all: ['other@1#1', 'bank.Account-acc-1@1#2', 'bank.Account-acc-1@2#3'],
      after2: ['bank.Account-acc-1@2#3'],
      head: 3,
      snapshot: 2,
      checkpoint: 2,
    });
    expect(await outside).toEqual({
      stream: [],
      version: 0,
      all: [expect.objectContaining({ streamId: 'other' })],
      head: 1,
      snapshot: undefined,
      checkpoint: 1,
    });
    expect(streamsOf(await store.readAll())).toEqual(inside.all);
    expect((await store.loadSnapshot('bank.Account-acc-1'))?.version).toBe(2);
    expect(await checkpoints.load('balances')).toBe(2);
    expect((await accounts.load('acc-1')).balance).toBe(300n);
  });

  test('snapshots and checkpoints saved in a transaction that rolls back are dropped', async () => {
    const { app, store, accounts } = bank({ snapshots: true });
    const checkpoints = createMemoryCheckpointStore();
    await expect(
      app.transaction(async () => {
        const account = accounts.create('acc-1');
        account.deposit('1.00');
        await accounts.save(account);
        await checkpoints.save('balances', 9);
        expect(await store.loadSnapshot('bank.Account-acc-1')).toBeDefined();
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await store.loadSnapshot('bank.Account-acc-1')).toBeUndefined();
    expect(await checkpoints.load('balances')).toBe(0);
    expect(await store.headPosition()).toBe(0);
  });

  test('global positions are given at commit, after events others committed meanwhile', async () => {
    const { app, store } = bank();
    const appendOutside = writerOutside(store);
    const result = await app.transaction(async () => {
      const inside = await store.append('mine', [event(), event()], { expectedVersion: 'no_stream' });
      // Another writer, outside the transaction, commits first.
      await appendOutside('theirs', 0);
      return inside;
    });
    expect(result).toEqual({ version: 2, position: 2 });
    expect(streamsOf(await store.readAll())).toEqual(['theirs@1#1', 'mine@1#2', 'mine@2#3']);
  });

  test("an 'any' append made meanwhile moves the transaction's events; a snapshot that counted them is dropped", async () => {
    const { app, store } = bank();
    const appendOutside = writerOutside(store);
    await store.append('s', [event()], { expectedVersion: 0 });
    await app.transaction(async () => {
      await store.append('s', [event()], { expectedVersion: 'any' });
      await store.saveSnapshot({ streamId: 's', version: 2, state: { counted: 2 } });
      await store.saveSnapshot({ streamId: 'committed-only', version: 0, state: {} });
      await appendOutside('s', 'any');
    });
    expect(streamsOf(await store.readStream('s'))).toEqual(['s@1#1', 's@2#2', 's@3#3']);
    expect(await store.loadSnapshot('s')).toBeUndefined();
    expect(await store.loadSnapshot('committed-only')).toEqual({
      streamId: 'committed-only',
      version: 0,
      state: {},
    });
  });

  test('a version check that passed when staged is made again at commit, also for an empty append', async () => {
    const { app, store } = bank();
    const appendOutside = writerOutside(store);
    const error = await app
      .transaction(async () => {
        await store.append('s', [], { expectedVersion: 0 });
        await store.append('t', [event()], { expectedVersion: 0 });
        await appendOutside('s', 0);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ streamId: 's', expectedVersion: 0, actualVersion: 1 });
    expect(await store.streamVersion('t')).toBe(0);
    expect(streamsOf(await store.readAll())).toEqual(['s@1#1']);
  });

  test('conflicts and duplicates inside one transaction are found when appending', async () => {
    const { app, store } = bank();
    const first = event();
    await app.transaction(async () => {
      await store.append('s', [first], { expectedVersion: 0 });
      await expect(store.append('s', [event()], { expectedVersion: 0 })).rejects.toThrow(ConcurrencyError);
      await expect(store.append('s', [first], { expectedVersion: 1 })).rejects.toMatchObject({
        name: 'DuplicateEventError',
      });
      expect(await store.append('s', [], { expectedVersion: 1 })).toEqual({ version: 1, position: 1 });
      expect(await store.append('s', [event()], { expectedVersion: 'exists' })).toEqual({
        version: 2,
        position: 2,
      });
    });
    expect(await store.streamVersion('s')).toBe(2);
  });

  test("in another manager's transaction the store appends directly, and a rollback keeps the events", async () => {
    // A manager that is not the memory one: the store does not take part in its transactions.
    const other: TransactionManager = {
      name: 'other',
      run: <T>(work: (tx: TransactionContext) => Promise<T>) =>
        work({ id: newId(), signal: new AbortController().signal, client: {} }),
      close: async () => {},
    };
    const { app, store, published } = bank({ transactionManager: other });
    const seenInside: number[] = [];
    await expect(
      app.commandBus.dispatchTransaction([
        new Deposit('acc-1', '5.00', async () => {
          seenInside.push(await store.headPosition());
        }),
        new Deposit('acc-2', '7.00', failWith('second fails')),
      ]),
    ).rejects.toThrow(CommandExecutionError);
    expect(seenInside).toEqual([1]);
    expect(await store.headPosition()).toBe(2);
    expect(published).toEqual([]);
  });
});

describe('a nested transaction through createCqrs on the memory adapters', () => {
  test('a nested dispatchTransaction that fails is undone alone; the caller catches and the outer commits', async () => {
    const transport = createMemoryTransport();
    const { app, store, published } = bank({ transport });
    const notes: string[] = [];
    await transport.consume('commands', async (m) => void notes.push(JSON.parse(m.body).payload.note), {
      group: 'test',
    });
    const notify = (note: string) => async () => void (await app.commandBus.dispatchAsync(new Notify(note)));
    let nestedError: unknown;
    await app.commandBus.transaction(async () => {
      await app.commandBus.dispatch(new Deposit('outer', '1.00', notify('outer-before')));
      nestedError = await app.commandBus
        .dispatchTransaction([
          new Deposit('inner', '2.00', notify('inner')),
          new Deposit('outer', '4.00', failWith('the nested batch fails after appending and sending')),
        ])
        .catch((e: unknown) => e);
      // The nested batch's append is gone already, inside the outer transaction.
      expect(await store.streamVersion('bank.Account-inner')).toBe(0);
      expect(await store.streamVersion('bank.Account-outer')).toBe(1);
      await app.commandBus.dispatch(new Deposit('outer', '3.00', notify('outer-after')));
    });
    expect(nestedError).toBeInstanceOf(CommandExecutionError);
    expect(await store.streamVersion('bank.Account-inner')).toBe(0);
    expect((await store.readStream('bank.Account-outer')).map((e) => e.data)).toEqual([
      { amount: '1.00' },
      { amount: '3.00' },
    ]);
    expect(published).toEqual(['outer:1.00', 'outer:3.00']);
    await vi.waitFor(() => expect(notes).toHaveLength(2));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(notes).toEqual(['outer-before', 'outer-after']);
    await transport.close();
  });
});

import {
  ConcurrencyError,
  InvalidArgumentError,
  type ProcessStore,
  type TransactionManager,
} from '@finaegis/core';
import { ContractTestError } from './errors/contract-test-error';
import { PlannedFailure } from './errors/planned-failure';
import { entryFor, processRecord, STATUSES, saveVersions } from './process-store-records';
import {
  assemble,
  type ContractGroup,
  defineTests,
  rejectionOf,
  requireHook,
  TestScope,
} from './registration';
import { type ContractRunner, uniqueName } from './runner';

/** How the suite reaches the process store under test. */
export interface ProcessStoreHarness {
  /** Shown in test names, e.g. `memory`, `postgres`. */
  readonly name: string;
  /**
   * A store. Stores made by one harness may share a backend (one database, one Map): every test
   * uses process types of its own, so the suite never sees another test's processes.
   */
  create(): Promise<ProcessStore>;
  /**
   * The transaction manager whose transactions the store's reads and writes join. The
   * `transactions` group is registered only when this is given.
   */
  readonly transactions?: {
    create(): Promise<TransactionManager>;
    /** The manager's contexts have `savepoint`: a save in a failed savepoint must be undone. */
    readonly savepoint: boolean;
  };
  readonly tolerances?: {
    /** Time limit of each test. Default 60,000. */
    readonly testTimeoutMs?: number;
  };
}

/** Registers one group of the process store contract. */
export type ProcessStoreContractGroup = ContractGroup<ProcessStoreHarness>;

class Scope extends TestScope {
  readonly prefix = uniqueName('contract-process');
  private types = 0;

  constructor(private readonly harness: ProcessStoreHarness) {
    super();
  }

  async store(): Promise<ProcessStore> {
    return this.opened(await this.harness.create());
  }

  async manager(): Promise<TransactionManager> {
    const transactions = requireHook(this.harness.name, this.harness.transactions, 'transactions');
    return this.opened(await transactions.create());
  }

  /** A process type of this test. */
  type(): string {
    this.types++;
    return `${this.prefix}.T${this.types}`;
  }
}

function define(runner: ContractRunner, harness: ProcessStoreHarness) {
  return defineTests(runner, harness.tolerances?.testTimeoutMs ?? 60_000, () => new Scope(harness));
}

const RUN = { timeoutMs: 30_000 } as const;
const isConflict = (error: unknown) => error instanceof ConcurrencyError;

const basics: ProcessStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  runner.describe('load, save and history', () => {
    test('an unknown process loads undefined, has no history and handled nothing', async (scope) => {
      const store = await scope.store();
      const type = scope.type();
      expect(await store.load(type, 'p1')).toBeUndefined();
      expect(await store.history(type, 'p1')).toEqual([]);
      expect(await store.handled(type, 'p1', 'm1')).toBe(false);
    });

    test('a saved process loads back as saved, from another store instance too', async (scope) => {
      const store = await scope.store();
      const type = scope.type();
      const record = processRecord(type, 'p1', 1, {
        state: { amount: '12.50', nested: { list: [1, 'two', null], flag: true }, text: 'Zürich ✓' },
        timeouts: { payout: { id: 'timeout-1', dueAt: 1_700_000_030_000 } },
        parked: [{ id: 'm9', type: 'test.Later', body: '{"v":1}' }],
      });
      await store.save(record, entryFor(record, 'started', 'm1'), { expectedVersion: 0 });
      expect(await store.load(type, 'p1')).toEqual(record);
      expect(await (await scope.store()).load(type, 'p1')).toEqual(record);
    });

    test('each save replaces the process and appends its entry; handled() knows every message id', async (scope) => {
      const store = await scope.store();
      const type = scope.type();
      const failure = { error: { name: 'TypeError', message: 'no' }, at: 1_700_000_000_009 };
      const last = await saveVersions(store, type, 'p1', 3, { status: 'failed', failure });
      expect(await store.load(type, 'p1')).toEqual(last);
      const history = await store.history(type, 'p1');
      expect(history.map((entry) => entry.version)).toEqual([1, 2, 3]);
      expect(history.map((entry) => entry.messageId)).toEqual(['p1-m1', 'p1-m2', 'p1-m3']);
      expect(history[2]!.status).toBe('failed');
      for (const id of ['p1-m1', 'p1-m2', 'p1-m3']) expect(await store.handled(type, 'p1', id)).toBe(true);
      expect(await store.handled(type, 'p1', 'p1-m4')).toBe(false);
      expect(await store.handled(type, 'p2', 'p1-m1')).toBe(false);
    });

    test('an entry without a message id (an operator action) is kept in the history', async (scope) => {
      const store = await scope.store();
      const type = scope.type();
      const first = await saveVersions(store, type, 'p1', 1);
      const retried = processRecord(type, 'p1', 2, { startedAt: first.startedAt });
      await store.save(retried, entryFor(retried, 'retried'), { expectedVersion: 1 });
      const history = await store.history(type, 'p1');
      expect(history).toHaveLength(2);
      expect(history[1]!.kind).toBe('retried');
      expect(history[1]!.messageId).toBeUndefined();
    });

    test('processes of other types or ids are independent', async (scope) => {
      const store = await scope.store();
      const [one, two] = [scope.type(), scope.type()];
      await saveVersions(store, one, 'p1', 2);
      await saveVersions(store, two, 'p1', 1);
      await saveVersions(store, one, 'p2', 1);
      expect((await store.load(one, 'p1'))?.version).toBe(2);
      expect((await store.load(two, 'p1'))?.version).toBe(1);
      expect(await store.history(one, 'p2')).toHaveLength(1);
    });
  });
};

const concurrency: ProcessStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  runner.describe('optimistic concurrency', () => {
    test('a save expecting another version fails with ConcurrencyError and writes nothing', async (scope) => {
      const store = await scope.store();
      const type = scope.type();
      const saved = await saveVersions(store, type, 'p1', 2);
      const stale = processRecord(type, 'p1', 2, { state: { stale: true } });
      expect(
        isConflict(
          await rejectionOf(store.save(stale, entryFor(stale, 'handled', 'x'), { expectedVersion: 1 })),
        ),
      ).toBe(true);
      const ahead = processRecord(type, 'p1', 4);
      expect(
        isConflict(
          await rejectionOf(store.save(ahead, entryFor(ahead, 'handled', 'y'), { expectedVersion: 3 })),
        ),
      ).toBe(true);
      expect(await store.load(type, 'p1')).toEqual(saved);
      expect(await store.history(type, 'p1')).toHaveLength(2);
      expect(await store.handled(type, 'p1', 'x')).toBe(false);
    });

    test('creating a process that exists (expected version 0) fails with ConcurrencyError', async (scope) => {
      const store = await scope.store();
      const type = scope.type();
      await saveVersions(store, type, 'p1', 1);
      const again = processRecord(type, 'p1', 1, { state: { again: true } });
      expect(
        isConflict(
          await rejectionOf(store.save(again, entryFor(again, 'started', 'other'), { expectedVersion: 0 })),
        ),
      ).toBe(true);
      expect((await store.load(type, 'p1'))?.state).toEqual({ step: 1 });
    });

    test('a message id already in the history fails with ConcurrencyError and writes nothing', async (scope) => {
      const store = await scope.store();
      const type = scope.type();
      await saveVersions(store, type, 'p1', 2);
      const next = processRecord(type, 'p1', 3);
      expect(
        isConflict(
          await rejectionOf(store.save(next, entryFor(next, 'handled', 'p1-m1'), { expectedVersion: 2 })),
        ),
      ).toBe(true);
      expect((await store.load(type, 'p1'))?.version).toBe(2);
    });

    test('of 10 concurrent saves expecting the same version exactly one wins', async (scope) => {
      const store = await scope.store();
      const type = scope.type();
      await saveVersions(store, type, 'p1', 1);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, writer) => {
          const record = processRecord(type, 'p1', 2, { state: { writer } });
          return store.save(record, entryFor(record, 'handled', `w${writer}`), { expectedVersion: 1 });
        }),
      );
      const winners = outcomes.flatMap((outcome, writer) => (outcome.status === 'fulfilled' ? [writer] : []));
      expect(winners).toHaveLength(1);
      for (const outcome of outcomes)
        if (outcome.status === 'rejected') expect(isConflict(outcome.reason)).toBe(true);
      expect((await store.load(type, 'p1'))?.state).toEqual({ writer: winners[0] });
      expect(await store.history(type, 'p1')).toHaveLength(2);
    });

    test('of 10 concurrent creations of one process exactly one wins', async (scope) => {
      const store = await scope.store();
      const type = scope.type();
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, writer) => {
          const record = processRecord(type, 'p1', 1, { state: { writer } });
          return store.save(record, entryFor(record, 'started', `w${writer}`), { expectedVersion: 0 });
        }),
      );
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      expect(await store.history(type, 'p1')).toHaveLength(1);
    });
  });
};

const input: ProcessStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  runner.describe('bad input', () => {
    test('versions that do not line up and empty ids are refused with InvalidArgumentError', async (scope) => {
      const store = await scope.store();
      const type = scope.type();
      const record = processRecord(type, 'p1', 1);
      const refusals = [
        store.save(processRecord(type, 'p1', 2), entryFor(processRecord(type, 'p1', 2)), {
          expectedVersion: 0,
        }),
        store.save(record, { ...entryFor(record), version: 2 }, { expectedVersion: 0 }),
        store.save(record, entryFor(record), { expectedVersion: -1 }),
        store.save(processRecord('', 'p1', 1), entryFor(record), { expectedVersion: 0 }),
        store.save(processRecord(type, '', 1), entryFor(record), { expectedVersion: 0 }),
        store.load('', 'p1'),
        store.handled(type, 'p1', ''),
      ];
      for (const refusal of refusals)
        expect((await rejectionOf(refusal)) instanceof InvalidArgumentError).toBe(true);
      expect(await store.load(type, 'p1')).toBeUndefined();
    });
  });
};

const listing: ProcessStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  runner.describe('listing', () => {
    test('list filters by type and status, newest first, with limit and offset; counts by status', async (scope) => {
      const store = await scope.store();
      const [type, other] = [scope.type(), scope.type()];
      const base = 1_800_000_000_000;
      for (let index = 0; index < 8; index++) {
        const status = STATUSES[index % STATUSES.length]!;
        await saveVersions(store, type, `p${index}`, 1, { status, startedAt: base + index });
      }
      await saveVersions(store, other, 'q0', 1, { startedAt: base + 100 });
      const all = await store.list({ processType: type });
      expect(all.map((record) => record.processId)).toEqual(['p7', 'p6', 'p5', 'p4', 'p3', 'p2', 'p1', 'p0']);
      const failed = await store.list({ processType: type, status: 'failed' });
      expect(failed.map((record) => record.processId)).toEqual(['p6', 'p2']);
      const page = await store.list({ processType: type, limit: 3, offset: 2 });
      expect(page.map((record) => record.processId)).toEqual(['p5', 'p4', 'p3']);
      expect(await store.counts(type)).toEqual({ running: 2, completed: 2, failed: 2, compensated: 2 });
      expect(await store.counts(other)).toEqual({ running: 1, completed: 0, failed: 0, compensated: 0 });
    });
  });
};

const transactions: ProcessStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  if (harness.transactions === undefined) return;
  const { savepoint } = harness.transactions;
  runner.describe('in a transaction', () => {
    test('saves commit with the transaction, which reads its own writes first', async (scope) => {
      const [store, manager] = [await scope.store(), await scope.manager()];
      const type = scope.type();
      await manager.run(async () => {
        await saveVersions(store, type, 'p1', 2);
        expect((await store.load(type, 'p1'))?.version).toBe(2);
        expect(await store.handled(type, 'p1', 'p1-m2')).toBe(true);
        expect(await store.history(type, 'p1')).toHaveLength(2);
      }, RUN);
      expect((await store.load(type, 'p1'))?.version).toBe(2);
      expect(await store.history(type, 'p1')).toHaveLength(2);
    });

    test('a rollback leaves neither the process nor its history', async (scope) => {
      const [store, manager] = [await scope.store(), await scope.manager()];
      const type = scope.type();
      await saveVersions(store, type, 'p1', 1);
      const failed = await rejectionOf(
        manager.run(async () => {
          const next = processRecord(type, 'p1', 2);
          await store.save(next, entryFor(next, 'handled', 'm2'), { expectedVersion: 1 });
          await saveVersions(store, type, 'p2', 1);
          throw new PlannedFailure('the step failed');
        }, RUN),
      );
      expect(failed instanceof PlannedFailure).toBe(true);
      expect((await store.load(type, 'p1'))?.version).toBe(1);
      expect(await store.handled(type, 'p1', 'm2')).toBe(false);
      expect(await store.load(type, 'p2')).toBeUndefined();
    });

    test('two transactions saving the same version: one commits, the other fails with ConcurrencyError', async (scope) => {
      const [store, manager] = [await scope.store(), await scope.manager()];
      const type = scope.type();
      await saveVersions(store, type, 'p1', 1);
      const write = (writer: number) =>
        manager.run(async () => {
          const loaded = await store.load(type, 'p1');
          const next = processRecord(type, 'p1', loaded!.version + 1, { state: { writer } });
          await store.save(next, entryFor(next, 'handled', `w${writer}`), {
            expectedVersion: loaded!.version,
          });
        }, RUN);
      const outcomes = await Promise.allSettled([write(1), write(2)]);
      const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      // Both may also commit one after the other (the second loading the first's version).
      if (won.length === 1) {
        const lost = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
        expect(isConflict(lost.reason)).toBe(true);
      }
      expect((await store.load(type, 'p1'))?.version).toBe(1 + won.length);
      expect(await store.history(type, 'p1')).toHaveLength(1 + won.length);
    });

    if (!savepoint) return;
    test('a save in a failed savepoint is undone; the transaction’s own save commits', async (scope) => {
      const [store, manager] = [await scope.store(), await scope.manager()];
      const type = scope.type();
      await manager.run(async (tx) => {
        if (tx.savepoint === undefined) {
          throw new ContractTestError(
            `the ${harness.name} harness declares savepoint, but the context has none`,
          );
        }
        await saveVersions(store, type, 'p1', 1);
        await tx
          .savepoint(async () => {
            const next = processRecord(type, 'p1', 2);
            await store.save(next, entryFor(next, 'handled', 'm2'), { expectedVersion: 1 });
            throw new PlannedFailure('nested step failed');
          })
          .catch(() => undefined);
        expect((await store.load(type, 'p1'))?.version).toBe(1);
        const retried = processRecord(type, 'p1', 2, { state: { retried: true } });
        await store.save(retried, entryFor(retried, 'handled', 'm2'), { expectedVersion: 1 });
      }, RUN);
      expect((await store.load(type, 'p1'))?.state).toEqual({ retried: true });
      expect(await store.history(type, 'p1')).toHaveLength(2);
    });
  });
};

const GROUPS = { basics, concurrency, input, listing, transactions } as const;

/** Names of the groups `processStoreContract` runs; each is also `processStoreContract.<name>`. */
export type ProcessStoreContractGroupName = keyof typeof GROUPS;

/**
 * Registers the process store contract: what `ProcessStore` promises (records load as saved, one
 * history entry per version, message ids recognised, optimistic concurrency with exactly one
 * winner, typed refusals of bad input, listing and counts) and, given a transaction manager, that
 * saves commit and roll back with the transaction.
 */
export const processStoreContract: ((runner: ContractRunner, harness: ProcessStoreHarness) => void) &
  Readonly<Record<ProcessStoreContractGroupName, ProcessStoreContractGroup>> = assemble(
  (harness: ProcessStoreHarness) => `${harness.name} process store`,
  GROUPS,
);

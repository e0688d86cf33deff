import type { CheckpointStore, TransactionManager } from '@finaegis/core';
import { ContractTestError } from './errors/contract-test-error';
import { PlannedFailure } from './errors/planned-failure';
import { assemble, type ContractGroup, defineTests, requireHook, TestScope } from './registration';
import { type ContractRunner, uniqueName } from './runner';

/** How the suite reaches the checkpoint store under test. */
export interface CheckpointStoreHarness {
  /** Shown in test names, e.g. `memory`, `postgres`. */
  readonly name: string;
  /** A fresh store. Stores made by one harness may share a database: every test uses its own projections. */
  create(): Promise<CheckpointStore>;
  /**
   * For stores that join transactions: a manager whose transactions the store's saves take part
   * in (when `run` is called directly, as a projector with a read model in the same database does).
   * The `transactions` group is registered only when this is given.
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

/** Registers one group of the checkpoint store contract. */
export type CheckpointStoreContractGroup = ContractGroup<CheckpointStoreHarness>;

// The port has no close(); stores that hold a connection have one, and the scope calls it.
class Scope extends TestScope {
  readonly prefix = uniqueName('contract-checkpoint');
  private projections = 0;

  constructor(private readonly harness: CheckpointStoreHarness) {
    super();
  }

  async store(): Promise<CheckpointStore> {
    return this.opened(await this.harness.create());
  }

  async manager(): Promise<TransactionManager> {
    const transactions = requireHook(this.harness.name, this.harness.transactions, 'transactions');
    return this.opened(await transactions.create());
  }

  /** A projection name of this test. */
  projection(): string {
    this.projections++;
    return `${this.prefix}-p${this.projections}`;
  }
}

function define(runner: ContractRunner, harness: CheckpointStoreHarness) {
  return defineTests(runner, harness.tolerances?.testTimeoutMs ?? 60_000, () => new Scope(harness));
}

const RUN = { timeoutMs: 30_000 } as const;

const basics: CheckpointStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  runner.describe('load and save', () => {
    test('a projection that never saved loads 0', async (scope) => {
      const store = await scope.store();
      expect(await store.load(scope.projection())).toBe(0);
    });

    test('load returns the last position saved, from another store instance too', async (scope) => {
      const store = await scope.store();
      const projection = scope.projection();
      await store.save(projection, 17);
      expect(await store.load(projection)).toBe(17);
      await store.save(projection, 42);
      expect(await store.load(projection)).toBe(42);
      // What a projector restarted in another process reads, where the store shares its backend.
      const other = await scope.store();
      expect(await other.load(projection)).toBe(42);
    });

    test('saving 0 resets a projection (a rebuild starts again from the beginning)', async (scope) => {
      const store = await scope.store();
      const projection = scope.projection();
      await store.save(projection, 1_000);
      await store.save(projection, 0);
      expect(await store.load(projection)).toBe(0);
    });

    test('projections are independent', async (scope) => {
      const store = await scope.store();
      const [one, two, never] = [scope.projection(), scope.projection(), scope.projection()];
      await store.save(one, 3);
      await store.save(two, 9);
      expect(await store.load(one)).toBe(3);
      expect(await store.load(two)).toBe(9);
      expect(await store.load(never)).toBe(0);
    });

    test('positions beyond 2^32 are kept exactly', async (scope) => {
      const store = await scope.store();
      const projection = scope.projection();
      const position = 2 ** 40 + 7;
      await store.save(projection, position);
      expect(await store.load(projection)).toBe(position);
    });

    test('concurrent saves of distinct projections all land', async (scope) => {
      const store = await scope.store();
      const projections = Array.from({ length: 50 }, () => scope.projection());
      await Promise.all(projections.map((projection, index) => store.save(projection, index + 1)));
      const loaded = await Promise.all(projections.map((projection) => store.load(projection)));
      expect(loaded).toEqual(projections.map((_, index) => index + 1));
    });
  });
};

const transactions: CheckpointStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  if (harness.transactions === undefined) return;
  const { savepoint } = harness.transactions;
  runner.describe('in a transaction', () => {
    test('a save commits with its transaction; the transaction reads its own save first', async (scope) => {
      const [store, manager] = [await scope.store(), await scope.manager()];
      const projection = scope.projection();
      await store.save(projection, 5);
      await manager.run(async () => {
        await store.save(projection, 9);
        expect(await store.load(projection)).toBe(9);
      }, RUN);
      expect(await store.load(projection)).toBe(9);
    });

    test('a rollback leaves the checkpoint as it was', async (scope) => {
      const [store, manager] = [await scope.store(), await scope.manager()];
      const projection = scope.projection();
      await store.save(projection, 5);
      let failed = false;
      await manager
        .run(async () => {
          await store.save(projection, 9);
          throw new PlannedFailure('the read model update failed');
        }, RUN)
        .catch(() => {
          failed = true;
        });
      expect(failed).toBe(true);
      expect(await store.load(projection)).toBe(5);
    });

    if (!savepoint) return;
    test('a save in a failed savepoint is undone; the transaction’s own save commits', async (scope) => {
      const [store, manager] = [await scope.store(), await scope.manager()];
      const [outer, nested] = [scope.projection(), scope.projection()];
      await manager.run(async (tx) => {
        if (tx.savepoint === undefined) {
          throw new ContractTestError(
            `the ${harness.name} harness declares savepoint, but the context has none`,
          );
        }
        await store.save(outer, 1);
        await tx
          .savepoint(async () => {
            await store.save(nested, 2);
            await store.save(outer, 2);
            throw new PlannedFailure('nested batch failed');
          })
          .catch(() => undefined);
        expect(await store.load(outer)).toBe(1);
        expect(await store.load(nested)).toBe(0);
      }, RUN);
      expect(await store.load(outer)).toBe(1);
      expect(await store.load(nested)).toBe(0);
    });
  });
};

const GROUPS = { basics, transactions } as const;

/** Names of the groups `checkpointStoreContract` runs; each is also `checkpointStoreContract.<name>`. */
export type CheckpointStoreContractGroupName = keyof typeof GROUPS;

/**
 * Registers the checkpoint store contract: what `CheckpointStore` promises (0 for a projection
 * that never saved, the last save wins, projections independent) and, given a transaction
 * manager, that saves commit and roll back with the transaction. The port promises no ordering
 * of positions, so the suite checks none: a rebuild saves 0 over a later position.
 */
export const checkpointStoreContract: ((runner: ContractRunner, harness: CheckpointStoreHarness) => void) &
  Readonly<Record<CheckpointStoreContractGroupName, CheckpointStoreContractGroup>> = assemble(
  (harness: CheckpointStoreHarness) => `${harness.name} checkpoint store`,
  GROUPS,
);

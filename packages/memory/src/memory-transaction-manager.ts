import {
  InvalidArgumentError,
  newId,
  type TransactionContext,
  type TransactionManager,
  type TransactionOptions,
  TransactionTimeoutError,
  UnitOfWorkError,
} from '@finaegis/core';
import { withTimeout } from '@finaegis/core/adapter';
import { memoryTransaction, openStaging, stagingOf } from './staging';

const ADAPTER = '@finaegis/memory';

/**
 * The in-process transaction manager: all or nothing for the memory stores, with a timeout.
 *
 * Appends, snapshots and checkpoints that a `MemoryEventStore` or `MemoryCheckpointStore` gets
 * inside `run` (called directly, or through the buses' `currentTransaction()`) are staged in the
 * transaction: the work reads its own writes, nobody else sees them, and they are written at once
 * when the work resolves, after the expected versions have been checked again (a conflict rolls
 * everything back with `ConcurrencyError`). On failure or timeout they are dropped.
 *
 * `tx.savepoint(work)` nests: what the nested work stages is taken back when it rejects, and stays
 * in the transaction when it resolves. Savepoints nest to any depth; siblings run one at a time.
 *
 * It has no outbox (`tx.enqueue` is absent), so the buses hold the async messages and events sent
 * inside `run` and send them after commit. Other writes the work makes are not undone.
 * `tx.client` is `undefined`.
 */
class MemoryTransactionManager implements TransactionManager {
  readonly name = 'memory';

  async run<T>(work: (tx: TransactionContext) => Promise<T>, options: TransactionOptions): Promise<T> {
    if (typeof work !== 'function') throw new InvalidArgumentError(ADAPTER, 'work', 'must be a function');
    const timeoutMs = options?.timeoutMs;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
      throw new InvalidArgumentError(
        ADAPTER,
        'timeoutMs',
        `must be a number of milliseconds > 0, got ${String(timeoutMs)}`,
      );
    }
    const controller = new AbortController();
    const tx = this.#context(controller.signal);
    const staging = openStaging(tx);
    const running = Promise.resolve().then(() => memoryTransaction.run(tx, () => work(tx)));
    try {
      const result = await withTimeout(running, timeoutMs, () => {
        const error = new TransactionTimeoutError(timeoutMs, { adapter: ADAPTER });
        // Dropped at once: late work of a timed-out transaction must find it closed.
        staging.rollback();
        controller.abort(error);
        return error;
      });
      // Synchronous: no other work runs between the checks and the writes.
      staging.commit();
      return result;
    } catch (error) {
      staging.rollback();
      if (!controller.signal.aborted) controller.abort(error);
      throw error;
    }
  }

  /** A context of this manager: the outer transaction's, or a savepoint's (same signal). */
  #context(signal: AbortSignal): TransactionContext {
    const tx: TransactionContext = {
      id: newId(),
      signal,
      client: undefined,
      savepoint: <T>(work: (nested: TransactionContext) => Promise<T>): Promise<T> =>
        this.#savepoint(tx, work),
    };
    return tx;
  }

  async #savepoint<T>(tx: TransactionContext, work: (nested: TransactionContext) => Promise<T>): Promise<T> {
    if (typeof work !== 'function') throw new InvalidArgumentError(ADAPTER, 'work', 'must be a function');
    const staging = stagingOf(tx);
    // Every context this manager hands out has its staging; this guards a context copied by hand.
    if (staging === undefined)
      throw new UnitOfWorkError(`[${ADAPTER}] savepoint: unknown transaction ${tx.id}`);
    return staging.savepoint(this.#context(tx.signal), work);
  }

  /** Nothing to release; present for the port. */
  async close(): Promise<void> {}
}

/** Creates an in-memory transaction manager (see {@link MemoryTransactionManager}). */
export function createMemoryTransactionManager(): MemoryTransactionManager {
  return new MemoryTransactionManager();
}

export type { MemoryTransactionManager };

import {
  InvalidArgumentError,
  newId,
  type TransactionContext,
  type TransactionManager,
  type TransactionOptions,
  TransactionTimeoutError,
} from '@finaegis/core';
import { openStaging } from './staging';

const ADAPTER = '@finaegis/memory';

/**
 * The in-process transaction manager: all or nothing for the memory stores, with a timeout.
 *
 * Appends, snapshots and checkpoints that a `MemoryEventStore` or `MemoryCheckpointStore` gets
 * inside `run` (through the buses' `currentTransaction()`) are staged in the transaction: the
 * work reads its own writes, nobody else sees them, and they are written at once when the work
 * resolves, after the expected versions have been checked again (a conflict rolls everything
 * back with `ConcurrencyError`). On failure or timeout they are dropped.
 *
 * It has no outbox (`tx.enqueue` is absent), so the buses hold the async messages and events sent
 * inside `run` and send them after commit. Other writes the work makes are not undone.
 * `tx.client` is `undefined`.
 */
export class MemoryTransactionManager implements TransactionManager {
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
    const tx: TransactionContext = { id: newId(), signal: controller.signal, client: undefined };
    const staging = openStaging(tx);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new TransactionTimeoutError(timeoutMs);
        // Dropped at once: late work of a timed-out transaction must find it closed.
        staging.rollback();
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    const running = Promise.resolve().then(() => work(tx));
    // The work may still settle after a timeout; its late failure must not surface as unhandled.
    running.catch(() => {});
    try {
      const result = await Promise.race([running, timeout]);
      // Synchronous: no other work runs between the checks and the writes.
      staging.commit();
      return result;
    } catch (error) {
      staging.rollback();
      if (!controller.signal.aborted) controller.abort(error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Nothing to release; present for the port. */
  async close(): Promise<void> {}
}

/** Creates an in-memory transaction manager (see {@link MemoryTransactionManager}). */
export function createMemoryTransactionManager(): MemoryTransactionManager {
  return new MemoryTransactionManager();
}

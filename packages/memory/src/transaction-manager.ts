import {
  newId,
  type TransactionContext,
  type TransactionManager,
  type TransactionOptions,
  TransactionTimeoutError,
} from '@finaegis/core';

const PREFIX = '[@finaegis/memory]';

/**
 * The in-process transaction manager: a unit of work with a timeout, not a database transaction.
 *
 * It has no outbox (`tx.enqueue` is absent), so the buses hold the async messages and events sent
 * inside `run` and send them once `work` has resolved; on failure or timeout they are dropped.
 * Writes made by the work itself (to a memory event store, say) are not undone: there is nothing
 * to roll back. `tx.client` is `undefined`.
 */
export class MemoryTransactionManager implements TransactionManager {
  readonly name = 'memory';

  async run<T>(work: (tx: TransactionContext) => Promise<T>, options: TransactionOptions): Promise<T> {
    if (typeof work !== 'function') throw new TypeError(`${PREFIX} work must be a function`);
    const timeoutMs = options?.timeoutMs;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
      throw new RangeError(`${PREFIX} timeoutMs must be a number > 0, got ${String(timeoutMs)}`);
    }
    const controller = new AbortController();
    const tx: TransactionContext = { id: newId(), signal: controller.signal, client: undefined };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new TransactionTimeoutError(timeoutMs);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    const running = Promise.resolve().then(() => work(tx));
    // The work may still settle after a timeout; its late failure must not surface as unhandled.
    running.catch(() => {});
    try {
      return await Promise.race([running, timeout]);
    } catch (error) {
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

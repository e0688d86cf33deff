import type { SendOptions, TransportMessage } from './transport';

/**
 * One running transaction, as repositories and the buses see it. The buses keep it in async
 * context for the duration of the work (`currentTransaction()`).
 */
export interface TransactionContext {
  /** Unique id of the transaction. */
  readonly id: string;
  /** Aborted when the transaction times out or is rolled back: long work should stop. */
  readonly signal: AbortSignal;
  /**
   * The adapter's handle on the transaction (the `pg` client holding `BEGIN`, ...), for
   * repositories of the same adapter. `undefined` for the memory manager.
   */
  readonly client: unknown;
  /**
   * Outbox: stores an async message in the same transaction, to be sent by a relay after commit.
   * Adapters without an outbox leave this out; the buses then hold async sends in memory and send
   * them after commit.
   */
  enqueue?(channel: string, message: TransportMessage, options?: SendOptions): Promise<void>;
}

export interface TransactionOptions {
  /** The transaction is rolled back and fails with `TransactionTimeoutError` after this long. */
  readonly timeoutMs: number;
}

export interface TransactionManager {
  readonly name: string;

  /**
   * Runs `work` in a new transaction. Commits when it resolves, rolls back when it rejects (and
   * rethrows its error), and rolls back with `TransactionTimeoutError` when it outlives
   * `timeoutMs` (aborting `tx.signal`; a database adapter also cancels the running statement).
   * Nothing done through `tx` is visible to others before commit.
   */
  run<T>(work: (tx: TransactionContext) => Promise<T>, options: TransactionOptions): Promise<T>;

  /** Closes what the manager opened itself. Idempotent. */
  close(): Promise<void>;
}

import type { HealthCheck } from './health';
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

  /**
   * Runs `work` as a nested transaction inside this one (a savepoint). The buses call it when
   * `dispatchTransaction` / `transaction` is called inside a running transaction.
   *
   * - When `work` rejects, everything written through the nested context (store appends,
   *   snapshots, checkpoints, outbox rows, SQL on `client`) is undone, the error is rethrown, and
   *   this transaction stays usable: it can go on and commit what it did before and after.
   * - When `work` resolves, its writes become part of this transaction and commit or roll back
   *   with it.
   * - `work` gets a context for the nested transaction (same `client`, same `signal`); it has a
   *   `savepoint` of its own, so nesting goes as deep as the adapter allows.
   * - Sibling savepoints of one context run one after the other, never interleaved (a database
   *   savepoint is a stack). Other statements sent on `client` while a savepoint is open belong
   *   to it: work inside one transaction should not run concurrently with a nested transaction.
   * - The outer transaction's timeout covers the nested work; there is no separate one.
   *
   * An adapter that cannot nest leaves this out. The buses then refuse to let the outer
   * transaction commit after a nested one failed: it rolls back with `UnitOfWorkError`.
   */
  savepoint?<T>(work: (tx: TransactionContext) => Promise<T>): Promise<T>;
}

/** Options of `TransactionManager.run`. */
export interface TransactionOptions {
  /** The transaction is rolled back and fails with `TransactionTimeoutError` after this long. */
  readonly timeoutMs: number;
}

/**
 * What every transaction manager adapter owes: run work in a transaction with a timeout, and
 * optionally an outbox (`tx.enqueue`) and savepoints (`tx.savepoint`). `transactionManagerContract`
 * of `@finaegis/contract-tests` checks each rule stated on its members.
 */
export interface TransactionManager {
  readonly name: string;

  /**
   * Runs `work` in a new transaction. Commits when it resolves, rolls back when it rejects (and
   * rethrows its error), and rolls back with `TransactionTimeoutError` when it outlives
   * `timeoutMs` (aborting `tx.signal`; a database adapter also cancels the running statement).
   * Nothing done through `tx` is visible to others before commit.
   *
   * Transactions of separate `run` calls are independent and may run concurrently. `run` is not
   * told about an outer transaction: nesting goes through `tx.savepoint`.
   */
  run<T>(work: (tx: TransactionContext) => Promise<T>, options: TransactionOptions): Promise<T>;

  /**
   * Optional: whether transactions can start now (the database reachable). Resolves within a few
   * seconds and never rejects.
   */
  health?(): Promise<readonly HealthCheck[]>;

  /** Closes what the manager opened itself. Idempotent. */
  close(): Promise<void>;
}

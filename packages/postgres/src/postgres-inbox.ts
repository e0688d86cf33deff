import { ConfigError, type Inbox, InvalidArgumentError, UnitOfWorkError } from '@finaegis/core';
import {
  currentPostgresTransaction,
  type PostgresConnectionOptions,
  type ResolvedConnection,
  resolveConnection,
} from './connection';

const ADAPTER = '@finaegis/postgres';

/**
 * The inbox of idempotent consumers in `<schema>.inbox`: one row per consumer and message id,
 * inserted in the `PostgresTransactionManager` transaction that runs the handler, so the record
 * commits with the handler's effects or not at all. Pass it as `WorkerOptions.inbox`.
 *
 * A redelivery finds the committed row and is skipped. Two deliveries of one message at once (a
 * lease that ran out while the first was still working) meet on the primary key: the second waits
 * for the first transaction, then skips if it committed, or runs if it rolled back.
 */
class PostgresInbox implements Inbox {
  readonly name = 'postgres';
  readonly #conn: ResolvedConnection;
  #closed = false;

  constructor(options: PostgresConnectionOptions = {}) {
    this.#conn = resolveConnection(options);
  }

  async record(consumer: string, messageId: string): Promise<boolean> {
    checkText(consumer, 'consumer');
    checkText(messageId, 'messageId');
    const tx = currentPostgresTransaction();
    if (tx === undefined || tx.schema !== this.#conn.schema) {
      throw new UnitOfWorkError(
        `[${ADAPTER}] inbox.record needs a transaction of a PostgresTransactionManager on schema ${this.#conn.schema}: recorded apart from the handler's effects, a crash between the two would lose the message or run it twice`,
      );
    }
    const result = await tx.client.query(
      `INSERT INTO ${this.#conn.q}.inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [consumer, messageId],
    );
    return result.rowCount === 1;
  }

  /** Whether `consumer` has a committed record of `messageId`. */
  async has(consumer: string, messageId: string): Promise<boolean> {
    checkText(consumer, 'consumer');
    checkText(messageId, 'messageId');
    const { rows } = await this.#conn.pool.query(
      `SELECT 1 FROM ${this.#conn.q}.inbox WHERE consumer = $1 AND message_id = $2`,
      [consumer, messageId],
    );
    return rows.length > 0;
  }

  /**
   * Deletes records older than `olderThanMs`. A message redelivered after its record is gone runs
   * again: keep records longer than the broker may redeliver (its retention, the longest retry).
   * Returns how many were deleted.
   */
  async prune(olderThanMs: number): Promise<number> {
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
      throw new ConfigError('olderThanMs', olderThanMs, 'a number of milliseconds, 0 or more', {
        adapter: ADAPTER,
      });
    }
    const result = await this.#conn.pool.query(
      `DELETE FROM ${this.#conn.q}.inbox WHERE handled_at < now() - $1::bigint * interval '1 millisecond'`,
      [Math.round(olderThanMs)],
    );
    return result.rowCount ?? 0;
  }

  /** Ends the pool if this inbox opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#conn.ownsPool) await this.#conn.pool.end();
  }
}

function checkText(value: unknown, argument: string): void {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(
      ADAPTER,
      argument,
      `must be a non-empty string, got ${JSON.stringify(value)}`,
    );
  }
}

/** Creates the inbox of idempotent consumers on PostgreSQL (see {@link PostgresInbox}). */
export function createPostgresInbox(options: PostgresConnectionOptions = {}): PostgresInbox {
  return new PostgresInbox(options);
}

export type { PostgresInbox };

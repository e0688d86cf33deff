import {
  ConfigError,
  checkChannelName,
  checkSendOptions,
  checkTransportMessage,
  newId,
  type SendOptions,
  type TransactionManager,
  type TransactionOptions,
  TransactionTimeoutError,
  type TransportMessage,
} from '@finaegis/core';
import type pg from 'pg';
import {
  ambientTransaction,
  type PostgresConnectionOptions,
  type PostgresTransaction,
  type ResolvedConnection,
  resolveConnection,
} from './connection';

export interface PostgresTransactionManagerOptions extends PostgresConnectionOptions {
  /**
   * After a commit that enqueued outbox rows, `NOTIFY` relays listening on this schema so they
   * send at once instead of at their next poll. Default `true`.
   */
  readonly notify?: boolean;
}

/** The NOTIFY channel of a schema's outbox. */
export function outboxChannel(schema: string): string {
  return `finaegis_outbox_${schema}`;
}

// SQLSTATEs that mean "the database ended this transaction because it ran out of time".
const QUERY_CANCELED = '57014';
const IDLE_IN_TRANSACTION_TIMEOUT = '57P05';

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether the database ended the work for running out of time. The error may come wrapped (the
 * command bus wraps a handler's error in CommandExecutionError), so the cause chain is followed.
 */
function isDatabaseTimeout(error: unknown): boolean {
  for (let current = error, depth = 0; current != null && depth < 8; depth++) {
    const code = sqlState(current);
    if (code === IDLE_IN_TRANSACTION_TIMEOUT) return true;
    if (code === QUERY_CANCELED && /statement timeout/i.test((current as Error).message ?? '')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

type Outcome<T> = { kind: 'resolved'; value: T } | { kind: 'rejected'; error: unknown } | { kind: 'timeout' };

/**
 * Runs work in `BEGIN … COMMIT` on one pooled client. The timeout is enforced by the database
 * (`SET LOCAL statement_timeout` and `idle_in_transaction_session_timeout`) and by a timer that
 * cancels the running statement with `pg_cancel_backend`; either way the transaction is rolled
 * back and `run` rejects with `TransactionTimeoutError`.
 */
export class PostgresTransactionManager implements TransactionManager {
  readonly name = 'postgres';
  readonly #conn: ResolvedConnection;
  readonly #notify: boolean;
  #closed = false;

  constructor(options: PostgresTransactionManagerOptions = {}) {
    this.#conn = resolveConnection(options);
    this.#notify = options.notify ?? true;
  }

  get schema(): string {
    return this.#conn.schema;
  }

  get pool(): pg.Pool {
    return this.#conn.pool;
  }

  async run<T>(work: (tx: PostgresTransaction) => Promise<T>, options: TransactionOptions): Promise<T> {
    const timeoutMs = options.timeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ConfigError('timeoutMs', timeoutMs, 'a number of milliseconds greater than 0');
    }
    const ms = Math.max(1, Math.ceil(timeoutMs));
    const { pool, q, schema } = this.#conn;
    const client = await pool.connect();
    // A checked-out client has no error listener (the pool removes its own), and the server ends
    // the session on idle_in_transaction_session_timeout: without this, that would crash Node.
    const onError = (): void => {};
    client.on('error', onError);
    const release = (destroy?: unknown): void => {
      if (!destroy) client.removeListener('error', onError);
      client.release(destroy === undefined ? undefined : destroy instanceof Error ? destroy : true);
    };
    let pid: number;
    try {
      // One round trip. Both limits are the whole budget: a statement cannot outlive the
      // transaction, and work stuck outside a statement is cut off by the server too.
      const results = (await client.query(
        `BEGIN; SET LOCAL statement_timeout = ${ms}; SET LOCAL idle_in_transaction_session_timeout = ${ms}; SELECT pg_backend_pid() AS pid`,
      )) as unknown as pg.QueryResult<{ pid: number }>[];
      pid = results[3]!.rows[0]!.pid;
    } catch (error) {
      release(error ?? true);
      throw error;
    }

    const controller = new AbortController();
    let enqueued = false;
    let ended = false;
    const tx: PostgresTransaction = {
      id: newId(),
      signal: controller.signal,
      client,
      schema,
      enqueue: async (channel: string, message: TransportMessage, sendOptions?: SendOptions) => {
        if (ended) throw new Error('[@finaegis/postgres] enqueue after the transaction ended');
        // Refused here, inside the caller's transaction, rather than found by the relay later.
        checkChannelName('@finaegis/postgres', 'channel', channel);
        checkSendOptions('@finaegis/postgres', sendOptions);
        const checked = checkTransportMessage('@finaegis/postgres', message);
        const stored: Record<string, unknown> = {};
        if (sendOptions?.delayMs !== undefined) stored.delayMs = sendOptions.delayMs;
        if (sendOptions?.priority !== undefined) stored.priority = sendOptions.priority;
        if (sendOptions?.dedupeId !== undefined) stored.dedupeId = sendOptions.dedupeId;
        await client.query(
          `INSERT INTO ${q}.outbox (channel, message_id, type, body, headers, key, options)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb)`,
          [
            channel,
            checked.id,
            checked.type,
            checked.body,
            JSON.stringify(checked.headers),
            sendOptions?.key ?? checked.key ?? null,
            JSON.stringify(stored),
          ],
        );
        enqueued = true;
      },
    };

    let timer: NodeJS.Timeout | undefined;
    let cancelled: Promise<unknown> = Promise.resolve();
    const timedOut = new Promise<Outcome<T>>((resolve) => {
      timer = setTimeout(() => {
        // Stops a statement that started late and would outlive the budget under its own
        // statement_timeout; harmless when the backend is idle.
        cancelled = pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
        resolve({ kind: 'timeout' });
      }, ms);
    });
    // Through a promise constructor, so work that throws before returning a promise still rolls back.
    const settled = new Promise<T>((resolve) => resolve(ambientTransaction.run(tx, () => work(tx)))).then(
      (value): Outcome<T> => ({ kind: 'resolved', value }),
      (error: unknown): Outcome<T> => ({ kind: 'rejected', error }),
    );
    const outcome = await Promise.race([settled, timedOut]);
    clearTimeout(timer);

    if (outcome.kind === 'resolved') {
      try {
        if (enqueued && this.#notify)
          await client.query('SELECT pg_notify($1, $2)', [outboxChannel(schema), '']);
        await client.query('COMMIT');
      } catch (error) {
        ended = true;
        controller.abort(error);
        release(error ?? true);
        if (isDatabaseTimeout(error)) throw new TransactionTimeoutError(ms, { cause: error });
        throw error;
      }
      ended = true;
      release();
      return outcome.value;
    }

    const timeout = outcome.kind === 'timeout' || isDatabaseTimeout(outcome.error);
    const reason = timeout
      ? new TransactionTimeoutError(ms, outcome.kind === 'rejected' ? { cause: outcome.error } : undefined)
      : outcome.error;
    ended = true;
    controller.abort(reason);
    if (timeout) {
      await cancelled;
      // The work may still hold the client and send more statements. After ROLLBACK the session
      // sits in a read-only transaction, so nothing it sends can write in autocommit mode; the
      // client is then destroyed, never returned to the pool.
      await client.query('ROLLBACK; BEGIN READ ONLY').catch(() => undefined);
      release(true);
      throw reason;
    }
    try {
      await client.query('ROLLBACK');
      release();
    } catch (rollbackError) {
      release(rollbackError ?? true);
    }
    throw reason;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#conn.ownsPool) await this.#conn.pool.end();
  }
}

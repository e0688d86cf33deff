import {
  type HealthCheck,
  InvalidArgumentError,
  newId,
  type SendOptions,
  type TransactionManager,
  type TransactionOptions,
  TransactionTimeoutError,
  type TransportMessage,
  UnitOfWorkError,
} from '@finaegis/core';
import { checkChannelName, checkSendOptions, checkTransportMessage } from '@finaegis/core/adapter';
import type pg from 'pg';
import { endTransaction, notifierFor } from './append-notifier';
import {
  ambientTransaction,
  type PostgresConnectionOptions,
  type PostgresTransaction,
  type ResolvedConnection,
  resolveConnection,
} from './connection';
import { databaseHealth } from './postgres-health';
import { IN_FAILED_TRANSACTION, isDatabaseTimeout, sqlState } from './sql-state';

/** Options of `createPostgresTransactionManager()`. */
export interface PostgresTransactionManagerOptions extends PostgresConnectionOptions {
  /**
   * After a commit that enqueued outbox rows, `NOTIFY` relays listening on this schema so they
   * send at once instead of at their next poll (sent after COMMIT, coalesced). Default `true`.
   */
  readonly notify?: boolean;
}

const ADAPTER = '@finaegis/postgres';

/** The NOTIFY channel of a schema's outbox. */
export function outboxChannel(schema: string): string {
  return `finaegis_outbox_${schema}`;
}

type Outcome<T> = { kind: 'resolved'; value: T } | { kind: 'rejected'; error: unknown } | { kind: 'timeout' };

/**
 * Runs work in `BEGIN … COMMIT` on one pooled client. The timeout is enforced by the database
 * (`SET LOCAL statement_timeout` and `idle_in_transaction_session_timeout`) and by a timer that
 * cancels the running statement with `pg_cancel_backend`; either way the transaction is rolled
 * back and `run` rejects with `TransactionTimeoutError`.
 *
 * `tx.savepoint(work)` nests on the same client with `SAVEPOINT` / `RELEASE SAVEPOINT`, and
 * `ROLLBACK TO SAVEPOINT` when `work` rejects: its SQL, event store appends, checkpoints and outbox
 * rows (`enqueue` of the nested context writes on the same client) are undone, the outer
 * transaction goes on. A timeout inside a savepoint still ends the whole transaction with
 * `TransactionTimeoutError`, even when the work catches the nested error and resolves.
 */
class PostgresTransactionManager implements TransactionManager {
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
      throw new InvalidArgumentError(
        ADAPTER,
        'timeoutMs',
        `must be a number of milliseconds greater than 0, got ${String(timeoutMs)}`,
      );
    }
    const ms = Math.max(1, Math.ceil(timeoutMs));
    const { pool, q, schema } = this.#conn;
    const client = await pool.connect();
    // A checked-out client has no error listener (the pool removes its own), and the server ends
    // the session on idle_in_transaction_session_timeout: without this, that would crash Node.
    const onError = (): void => {};
    client.on('error', onError);
    const release = (destroy?: unknown): void => {
      endTransaction(client, false);
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
    const state: TransactionState = {
      client,
      schema,
      q,
      signal: controller.signal,
      ended: false,
      enqueued: false,
      doomed: undefined,
      timeoutMs: ms,
      savepoints: 0,
    };
    const { tx } = context(state);

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

    if (outcome.kind === 'resolved' && state.doomed === undefined) {
      let tag: string;
      try {
        // Numbers the rows in commit order (see migration 0003); its channel locks end with COMMIT.
        if (state.enqueued) await client.query(`SELECT ${q}.outbox_seal()`);
        tag = (await client.query('COMMIT')).command;
      } catch (error) {
        state.ended = true;
        const reason = isDatabaseTimeout(error)
          ? new TransactionTimeoutError(ms, { adapter: ADAPTER, cause: error })
          : sqlState(error) === IN_FAILED_TRANSACTION
            ? abortedByCaughtFailure(error)
            : error;
        controller.abort(reason);
        release(error ?? true);
        throw reason;
      }
      state.ended = true;
      endTransaction(client, tag === 'COMMIT');
      if (tag === 'COMMIT' && state.enqueued && this.#notify) notifierFor(pool, outboxChannel(schema)).poke();
      release();
      // PostgreSQL answers COMMIT of a transaction that a failed statement aborted with ROLLBACK,
      // not an error: resolving here would tell the caller that nothing-at-all was committed.
      if (tag === 'ROLLBACK') {
        const reason = abortedByCaughtFailure(undefined);
        controller.abort(reason);
        throw reason;
      }
      return outcome.value;
    }

    let reason: unknown;
    if (state.doomed !== undefined) reason = state.doomed;
    else if (outcome.kind === 'timeout') reason = new TransactionTimeoutError(ms, { adapter: ADAPTER });
    else if (outcome.kind === 'rejected')
      reason = isDatabaseTimeout(outcome.error)
        ? new TransactionTimeoutError(ms, { adapter: ADAPTER, cause: outcome.error })
        : outcome.error;
    const timeout = reason instanceof TransactionTimeoutError;
    state.ended = true;
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

  /** The database answering on this manager's pool (postgres-health.ts). */
  health(): Promise<readonly HealthCheck[]> {
    return databaseHealth(this.#conn.pool);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#conn.ownsPool) await this.#conn.pool.end();
  }
}

/** What the contexts of one transaction (the outer one and its savepoints) share. */
interface TransactionState {
  readonly client: pg.PoolClient;
  readonly schema: string;
  /** The schema, quoted for SQL text. */
  readonly q: string;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** Set once COMMIT or ROLLBACK is under way: from then on nothing may use the client. */
  ended: boolean;
  /** Whether an outbox row was written, so relays are notified after commit. */
  enqueued: boolean;
  /**
   * Why the transaction can no longer commit, when a savepoint found it out of time or could
   * not undo its work: `run` then rolls back with this error, whatever the work does next.
   */
  doomed: unknown;
  /** Savepoints opened so far, for unique names. */
  savepoints: number;
}

/**
 * A context of one transaction: the outer one, or a savepoint's (`closed` when its work settles).
 * Functions, not methods, so that a destructured `enqueue` or `savepoint` still works.
 */
function context(state: TransactionState): { tx: PostgresTransaction; close(): void } {
  let closed = false;
  // Siblings queue here: database savepoints are a stack, interleaving them would undo the wrong work.
  let lastSavepoint: Promise<void> = Promise.resolve();
  const assertOpen = (what: string): void => {
    if (state.ended || closed) {
      throw new UnitOfWorkError(
        `[@finaegis/postgres] ${what} after the ${state.ended ? 'transaction' : 'savepoint'} ended (work that outlived it, e.g. after a timeout)`,
      );
    }
  };
  const tx: PostgresTransaction = {
    id: newId(),
    signal: state.signal,
    client: state.client,
    schema: state.schema,
    enqueue: async (channel: string, message: TransportMessage, sendOptions?: SendOptions) => {
      assertOpen('enqueue');
      // Refused here, inside the caller's transaction, rather than found by the relay later.
      checkChannelName(ADAPTER, 'channel', channel);
      checkSendOptions(ADAPTER, sendOptions);
      const checked = checkTransportMessage(ADAPTER, message);
      const stored: Record<string, unknown> = {};
      if (sendOptions?.delayMs !== undefined) stored.delayMs = sendOptions.delayMs;
      if (sendOptions?.priority !== undefined) stored.priority = sendOptions.priority;
      if (sendOptions?.dedupeId !== undefined) stored.dedupeId = sendOptions.dedupeId;
      await state.client.query(
        `INSERT INTO ${state.q}.outbox (channel, message_id, type, body, headers, key, options)
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
      state.enqueued = true;
    },
    savepoint: async <T>(work: (tx: PostgresTransaction) => Promise<T>): Promise<T> => {
      if (typeof work !== 'function') throw new InvalidArgumentError(ADAPTER, 'work', 'must be a function');
      const previous = lastSavepoint;
      let done!: () => void;
      lastSavepoint = new Promise<void>((resolve) => {
        done = resolve;
      });
      await previous;
      try {
        assertOpen('savepoint');
        return await runSavepoint(state, work);
      } finally {
        done();
      }
    },
  };
  return {
    tx,
    close: () => {
      closed = true;
    },
  };
}

async function runSavepoint<T>(
  state: TransactionState,
  work: (tx: PostgresTransaction) => Promise<T>,
): Promise<T> {
  const name = `s${++state.savepoints}`;
  try {
    await state.client.query(`SAVEPOINT ${name}`);
  } catch (error) {
    if (isDatabaseTimeout(error))
      throw doom(state, new TransactionTimeoutError(state.timeoutMs, { adapter: ADAPTER, cause: error }));
    // An earlier statement of the outer work failed and was caught: nothing can run or commit now.
    if (sqlState(error) === IN_FAILED_TRANSACTION) throw doom(state, abortedByCaughtFailure(error));
    throw error;
  }
  const nested = context(state);
  let result: T;
  try {
    // Through a promise constructor, so work that throws before returning a promise is undone too.
    result = await new Promise<T>((resolve) =>
      resolve(ambientTransaction.run(nested.tx, () => work(nested.tx))),
    );
  } catch (error) {
    nested.close();
    throw await undo(state, name, error);
  }
  nested.close();
  if (state.ended) {
    throw new UnitOfWorkError(
      '[@finaegis/postgres] savepoint: the transaction ended (e.g. timed out) while the nested work ran; nothing of it is committed',
    );
  }
  try {
    await state.client.query(`RELEASE SAVEPOINT ${name}`);
  } catch (error) {
    // The nested work resolved although a statement in it failed (the work caught the error and
    // the transaction stays aborted until the savepoint is rolled back), or time ran out.
    throw await undo(
      state,
      name,
      isDatabaseTimeout(error)
        ? error
        : new UnitOfWorkError(
            `[@finaegis/postgres] savepoint: the nested work resolved, but a statement in it failed (${(error as Error).message}); its writes are rolled back`,
            { cause: error },
          ),
    );
  }
  return result;
}

/** Takes back a failed savepoint and returns what the caller of `savepoint` should see. */
async function undo(state: TransactionState, name: string, error: unknown): Promise<unknown> {
  // The transaction is over (timed out): `run` has rolled back, the client is not ours any more.
  if (state.ended) return error;
  if (state.doomed !== undefined) return state.doomed;
  // Out of time: the outer transaction cannot go on, so it fails as a whole, as a timeout.
  if (isDatabaseTimeout(error)) {
    return doom(state, new TransactionTimeoutError(state.timeoutMs, { adapter: ADAPTER, cause: error }));
  }
  try {
    await state.client.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`);
  } catch (undoError) {
    return doom(
      state,
      isDatabaseTimeout(undoError)
        ? new TransactionTimeoutError(state.timeoutMs, { adapter: ADAPTER, cause: undoError })
        : new UnitOfWorkError(
            `[@finaegis/postgres] savepoint: the nested work failed and could not be rolled back (${(undoError as Error).message}); the whole transaction rolls back`,
            { cause: error },
          ),
    );
  }
  return error;
}

function doom(state: TransactionState, reason: unknown): unknown {
  state.doomed ??= reason;
  return state.doomed;
}

/** The transaction was aborted by a statement whose error the work caught, so nothing committed. */
function abortedByCaughtFailure(cause: unknown): UnitOfWorkError {
  return new UnitOfWorkError(
    '[@finaegis/postgres] the transaction was rolled back, not committed: a statement in it failed and the work went on (catch errors inside a savepoint, `tx.savepoint`, to go on after a failed statement)',
    cause === undefined ? undefined : { cause },
  );
}

/** Creates a transaction manager on PostgreSQL (see {@link PostgresTransactionManager}). */
export function createPostgresTransactionManager(
  options: PostgresTransactionManagerOptions = {},
): PostgresTransactionManager {
  return new PostgresTransactionManager(options);
}

export type { PostgresTransactionManager };

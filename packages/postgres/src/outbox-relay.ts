import {
  type BackoffPolicy,
  backoffDelay,
  ConfigError,
  describeError,
  isRetryable,
  type Logger,
  newId,
  type SendOptions,
  silentLogger,
  type Transport,
  type TransportMessage,
} from '@finaegis/core';
import type pg from 'pg';
import { type PostgresConnectionOptions, type ResolvedConnection, resolveConnection } from './connection';
import { outboxChannel } from './transaction-manager';

export interface OutboxRelayOptions extends PostgresConnectionOptions {
  /** Where rows go after commit. */
  readonly transport: Pick<Transport, 'name' | 'send'>;
  /** Rows claimed per round. Default 100. */
  readonly batchSize?: number;
  /** Sleep between rounds when nothing was due (a NOTIFY cuts it short). Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** How long a claim keeps other relays off the rows while they are being sent. Default 30 000 ms. */
  readonly leaseMs?: number;
  /** Sends tried per row before it is set aside as failed. Default 10. */
  readonly maxAttempts?: number;
  /** Wait before a failed row is tried again. Default exponential from 100 ms, at most 30 s. */
  readonly backoff?: BackoffPolicy;
  /**
   * `'channel'` (default): rows of one channel are sent in id order even with several relays
   * running; a channel being claimed or sent by one relay is left alone by the others, so relays
   * share the work channel by channel. `'none'`: relays share every row (`SKIP LOCKED`), faster with many
   * relays, but a later row may overtake an earlier one of the same channel.
   */
  readonly ordering?: 'channel' | 'none';
  /** Hold one pooled connection to `LISTEN` for commits that enqueued rows. Default `true`. */
  readonly listen?: boolean;
  readonly logger?: Logger;
}

/** An outbox row that failed `maxAttempts` times (or with a non-retryable error). */
export interface FailedOutboxMessage {
  readonly id: number;
  readonly channel: string;
  readonly message: TransportMessage;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly failedAt: number;
}

interface OutboxRow {
  id: string;
  channel: string;
  message_id: string;
  type: string;
  body: string;
  headers: Record<string, string>;
  key: string | null;
  options: { delayMs?: number; priority?: number; dedupeId?: string };
  attempts: number;
  due: boolean;
  leased_elsewhere: boolean;
  delay_left_ms: string;
}

function positive(key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(key, value, 'a number greater than 0');
  return value;
}

// First key of the two-key advisory lock a claim takes on each channel (ordering: 'channel'); the
// second is hashtext('<schema>.<channel>'). Distinct from migrate()'s class.
const CHANNEL_LOCK_CLASS = 0x46_41_4f; // "FAO"

// A claim that loses a deadlock or a serialization check is run again this many times in all.
const CONFLICT_ATTEMPTS = 5;

/** Deadlock (40P01) or serialization failure (40001): the transaction was rolled back, retry it. */
function isConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * Runs `work` again after a conflict, after a short random pause so that the transactions that
 * collided do not collide again in step.
 */
async function retryConflicts<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isConflict(error) || attempt >= CONFLICT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, attempt * (5 + Math.random() * 20)));
    }
  }
}

/**
 * Each channel's rows up to (not including) the first that is not due or is leased by another
 * relay: a channel is only ever claimed from its head, in id order. `rows` are in id order.
 */
function channelHeads(rows: OutboxRow[]): OutboxRow[] {
  const blocked = new Set<string>();
  return rows.filter((row) => {
    if (blocked.has(row.channel) || !row.due || row.leased_elsewhere) {
      blocked.add(row.channel);
      return false;
    }
    return true;
  });
}

const PENDING = 'sent_at IS NULL AND failed_at IS NULL';
const ROW_COLUMNS = `id, channel, message_id, type, body, headers, key, options, attempts,
  available_at <= now() AS due,
  coalesce(lease_until >= now(), false) AS leased_elsewhere,
  coalesce((options->>'delayMs')::bigint, 0)
    - (extract(epoch FROM (now() - created_at)) * 1000)::bigint AS delay_left_ms`;

/**
 * Moves committed outbox rows to a transport, in id order per channel, with retries and backoff.
 * Several relays may run at once (in one or many processes): a short claiming transaction leases
 * each row to one relay, so no row is sent twice while its lease lasts. With `ordering: 'channel'`
 * the claim holds a transaction-level advisory lock on each channel it takes rows from, tried and
 * never waited for, so two relays never claim one channel at once. Delivery is at-least-once: a
 * relay that dies after sending but before marking the rows sent leaves them to be sent again when
 * the lease ends.
 *
 * Deadlock freedom: every statement that locks several outbox rows locks them in ascending id
 * order (`ORDER BY id FOR UPDATE` in a subquery), and no transaction holds row locks from one
 * statement while taking more in another, so lock waits can never form a cycle. A deadlock or
 * serialization failure that still reaches a claim (another client locking outbox rows its own way,
 * a server running SERIALIZABLE by default) rolls the claim back and runs it again.
 */
export class OutboxRelay {
  readonly id: string = newId();
  readonly #conn: ResolvedConnection;
  readonly #transport: Pick<Transport, 'name' | 'send'>;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #leaseMs: number;
  readonly #maxAttempts: number;
  readonly #backoff: BackoffPolicy;
  readonly #listen: boolean;
  readonly #ordering: 'channel' | 'none';
  readonly #logger: Logger;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #listener: pg.PoolClient | undefined;
  #onListenerError: ((error: Error) => void) | undefined;
  #notified = false;
  #closed = false;

  constructor(options: OutboxRelayOptions) {
    this.#conn = resolveConnection(options);
    this.#transport = options.transport;
    this.#batchSize = Math.floor(positive('batchSize', options.batchSize, 100));
    this.#pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs, 1000);
    this.#leaseMs = Math.ceil(positive('leaseMs', options.leaseMs, 30_000));
    this.#maxAttempts = Math.floor(positive('maxAttempts', options.maxAttempts, 10));
    this.#backoff = options.backoff ?? { type: 'exponential', delayMs: 100, maxDelayMs: 30_000 };
    this.#listen = options.listen ?? true;
    const ordering = options.ordering ?? 'channel';
    if (ordering !== 'channel' && ordering !== 'none') {
      throw new ConfigError('ordering', ordering, "'channel' or 'none'");
    }
    this.#ordering = ordering;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Claims, sends and marks one batch. Returns how many rows were sent. */
  async runOnce(): Promise<number> {
    const rows = await this.#claim();
    if (rows.length === 0) return 0;
    const { q } = this.#conn;
    const sent: string[] = [];
    const released: string[] = [];
    // A row that fails holds back the later rows of its channel: order per channel.
    const blocked = new Set<string>();
    for (const row of rows) {
      if (blocked.has(row.channel)) {
        released.push(row.id);
        continue;
      }
      const message: TransportMessage = {
        id: row.message_id,
        type: row.type,
        body: row.body,
        headers: row.headers,
        ...(row.key === null ? {} : { key: row.key }),
      };
      const options: { -readonly [K in keyof SendOptions]: SendOptions[K] } = {};
      const delayLeft = Number(row.delay_left_ms);
      if (row.options.delayMs !== undefined && delayLeft > 0) options.delayMs = delayLeft;
      if (row.options.priority !== undefined) options.priority = row.options.priority;
      if (row.key !== null) options.key = row.key;
      if (row.options.dedupeId !== undefined) options.dedupeId = row.options.dedupeId;
      try {
        await this.#transport.send(row.channel, message, options);
        sent.push(row.id);
      } catch (error) {
        blocked.add(row.channel);
        const attempts = row.attempts + 1;
        const giveUp = !isRetryable(error) || attempts >= this.#maxAttempts;
        const described = describeError(error);
        this.#logger.warn(giveUp ? 'Outbox message set aside' : 'Outbox send failed, will retry', {
          outboxId: row.id,
          channel: row.channel,
          type: row.type,
          attempts,
          error: `${described.name}: ${described.message}`,
        });
        await this.#settleOne(
          `UPDATE ${q}.outbox SET attempts = $2, last_error = $3, claimed_by = NULL, lease_until = NULL,
             available_at = now() + $4 * interval '1 millisecond', failed_at = CASE WHEN $5 THEN now() END
           WHERE id = $1 AND claimed_by = $6`,
          [
            row.id,
            attempts,
            `${described.name}: ${described.message}`,
            backoffDelay(this.#backoff, attempts),
            giveUp,
            this.id,
          ],
        );
      }
    }
    if (sent.length > 0) await this.#settle(sent, 'sent_at = now(), lease_until = NULL');
    if (released.length > 0) await this.#settle(released, 'claimed_by = NULL, lease_until = NULL');
    return sent.length;
  }

  /** One row: a single row lock, so no order to keep. */
  async #settleOne(sql: string, values: unknown[]): Promise<void> {
    await retryConflicts(() => this.#conn.pool.query(sql, values));
  }

  /**
   * Updates rows this relay still holds the lease of. A bare `UPDATE … WHERE id = ANY(…)` locks
   * rows in the order the plan meets them (heap order, which updates shuffle), and against a claim
   * locking in id order that is a deadlock; the subquery locks in id order first.
   */
  async #settle(ids: string[], assignments: string): Promise<void> {
    const { q } = this.#conn;
    await retryConflicts(() =>
      this.#conn.pool.query(
        `WITH target AS MATERIALIZED (
           SELECT id FROM ${q}.outbox WHERE id = ANY($1::bigint[]) AND claimed_by = $2 ORDER BY id FOR UPDATE
         )
         UPDATE ${q}.outbox AS o SET ${assignments} FROM target WHERE o.id = target.id`,
        [ids, this.id],
      ),
    );
  }

  /** Leases the next rows to this relay. A conflict is retried; it never fails the round. */
  async #claim(): Promise<OutboxRow[]> {
    try {
      return await retryConflicts(() =>
        this.#inTransaction((client) =>
          this.#ordering === 'channel' ? this.#claimByChannel(client) : this.#claimAny(client),
        ),
      );
    } catch (error) {
      if (!isConflict(error)) throw error;
      // Rows stay where they were; the next round claims them.
      this.#logger.warn('Outbox claim kept colliding, trying again next round', {
        error: error instanceof Error ? error.message : String(error),
      });
      return [];
    }
  }

  async #inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#conn.pool.connect();
    try {
      // Read committed whatever the server's default: each statement must see what committed
      // before it, in particular the leases of a claim whose channel lock was just released.
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      // A client whose rollback failed is in an unknown state: destroy it rather than pool it.
      client.release(rolledBack ? undefined : error instanceof Error ? error : true);
      throw error;
    }
  }

  /**
   * Ordered claim. Channel exclusion comes from advisory locks, not row locks: the relay tries the
   * channel lock of every channel at the head of the outbox and skips those another relay is
   * claiming right now (a try never waits, so claims never wait for each other). Only after that
   * does it read the rows of the channels it locked: the lock is released when the other claim
   * commits, so this later statement sees that claim's leases and leaves those rows alone.
   */
  async #claimByChannel(client: pg.PoolClient): Promise<OutboxRow[]> {
    const { q, schema } = this.#conn;
    const { rows: channels } = await client.query<{ channel: string; mine: boolean }>(
      `SELECT channel, pg_try_advisory_xact_lock($2, hashtext($3 || channel)) AS mine
       FROM (SELECT DISTINCT channel
             FROM (SELECT channel FROM ${q}.outbox WHERE ${PENDING} ORDER BY id LIMIT $1) AS head) AS c`,
      [this.#batchSize, CHANNEL_LOCK_CLASS, `${schema}.`],
    );
    const mine = channels.filter((c) => c.mine).map((c) => c.channel);
    if (mine.length === 0) return [];
    const { rows } = await client.query<OutboxRow>(
      `SELECT ${ROW_COLUMNS} FROM ${q}.outbox
       WHERE ${PENDING} AND channel = ANY($2::text[])
       ORDER BY id LIMIT $1`,
      [this.#batchSize, mine],
    );
    return this.#lease(client, channelHeads(rows));
  }

  /** Unordered claim: rows locked by a concurrent claim are skipped, never waited for. */
  async #claimAny(client: pg.PoolClient): Promise<OutboxRow[]> {
    const { q } = this.#conn;
    const { rows } = await client.query<OutboxRow>(
      `SELECT ${ROW_COLUMNS} FROM ${q}.outbox
       WHERE ${PENDING} AND (lease_until IS NULL OR lease_until < now())
       ORDER BY id LIMIT $1
       FOR UPDATE SKIP LOCKED`,
      [this.#batchSize],
    );
    return this.#lease(client, channelHeads(rows));
  }

  /**
   * Leases `rows` (each channel's head, in id order) to this relay, locking them in id order. A row
   * whose state changed since it was read (the relay whose lease ran out marked it sent, or set it
   * back for a retry) is not leased, and neither are the later rows of its channel.
   */
  async #lease(client: pg.PoolClient, rows: OutboxRow[]): Promise<OutboxRow[]> {
    if (rows.length === 0) return [];
    const { q } = this.#conn;
    const { rows: leased } = await client.query<{ id: string }>(
      `WITH target AS MATERIALIZED (
         SELECT id FROM ${q}.outbox
         WHERE id = ANY($1::bigint[]) AND ${PENDING} AND available_at <= now()
           AND (lease_until IS NULL OR lease_until < now())
         ORDER BY id FOR UPDATE
       )
       UPDATE ${q}.outbox AS o SET claimed_by = $2, lease_until = now() + $3 * interval '1 millisecond'
       FROM target WHERE o.id = target.id
       RETURNING o.id`,
      [rows.map((r) => r.id), this.id, this.#leaseMs],
    );
    const got = new Set(leased.map((r) => r.id));
    const cut = new Set<string>();
    const claimed: OutboxRow[] = [];
    const giveBack: string[] = [];
    for (const row of rows) {
      if (cut.has(row.channel) || !got.has(row.id)) {
        cut.add(row.channel);
        if (got.has(row.id)) giveBack.push(row.id);
        continue;
      }
      claimed.push(row);
    }
    if (giveBack.length > 0) {
      // Locked by this transaction already: no new lock is taken.
      await client.query(
        `UPDATE ${q}.outbox SET claimed_by = NULL, lease_until = NULL WHERE id = ANY($1::bigint[])`,
        [giveBack],
      );
    }
    return claimed;
  }

  /** Starts relaying in the background until `stop()`. Idempotent. */
  async start(): Promise<void> {
    if (this.#running) return;
    if (this.#closed) throw new Error('[@finaegis/postgres] OutboxRelay was stopped');
    this.#running = true;
    if (this.#listen) await this.#startListening();
    this.#loop = this.#run();
  }

  async #startListening(): Promise<void> {
    try {
      const client = await this.#conn.pool.connect();
      client.on('notification', () => {
        this.#notified = true;
        this.#wake?.();
      });
      const onError = (error: Error): void => {
        // Falls back to polling; the relay keeps working.
        this.#logger.warn('Outbox listener lost its connection', { error: error.message });
        client.removeListener('error', onError);
        if (this.#listener === client) this.#listener = undefined;
        client.release(error);
      };
      this.#onListenerError = onError;
      client.on('error', onError);
      await client.query(`LISTEN "${outboxChannel(this.#conn.schema)}"`);
      this.#listener = client;
    } catch (error) {
      this.#logger.warn('Outbox relay could not LISTEN, polling only', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let sent = 0;
      // A NOTIFY that arrives while a round runs is remembered, so the loop does not sleep past it.
      this.#notified = false;
      try {
        sent = await this.runOnce();
      } catch (error) {
        this.#logger.error('Outbox relay round failed', {
          error: error instanceof Error ? error.message : String(error),
        });
      }
      if (sent > 0 || this.#notified || !this.#running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.#pollIntervalMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
  }

  /** Rows waiting to be sent (not yet sent, not set aside). */
  async pending(): Promise<number> {
    const { rows } = await this.#conn.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.#conn.q}.outbox WHERE sent_at IS NULL AND failed_at IS NULL`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Rows set aside after failing, oldest first. */
  async failed(options: { limit?: number } = {}): Promise<FailedOutboxMessage[]> {
    const { rows } = await this.#conn.pool.query<
      Omit<OutboxRow, 'due' | 'delay_left_ms' | 'options'> & {
        last_error: string | null;
        failed_ms: string;
      }
    >(
      `SELECT id, channel, message_id, type, body, headers, key, attempts, last_error,
              round(extract(epoch FROM failed_at) * 1000)::bigint AS failed_ms
       FROM ${this.#conn.q}.outbox WHERE failed_at IS NOT NULL ORDER BY id LIMIT $1`,
      [options.limit ?? null],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      channel: row.channel,
      message: {
        id: row.message_id,
        type: row.type,
        body: row.body,
        headers: row.headers,
        ...(row.key === null ? {} : { key: row.key }),
      },
      attempts: row.attempts,
      lastError: row.last_error,
      failedAt: Number(row.failed_ms),
    }));
  }

  /** Puts failed rows back in line for a full set of attempts. Returns how many. */
  async retryFailed(): Promise<number> {
    const { q } = this.#conn;
    // Locked in id order, like every multi-row statement here (two callers at once cannot deadlock).
    const result = await retryConflicts(() =>
      this.#conn.pool.query(
        `WITH target AS MATERIALIZED (
           SELECT id FROM ${q}.outbox WHERE failed_at IS NOT NULL ORDER BY id FOR UPDATE
         )
         UPDATE ${q}.outbox AS o SET failed_at = NULL, attempts = 0, available_at = now()
         FROM target WHERE o.id = target.id`,
      ),
    );
    return result.rowCount ?? 0;
  }

  /** Stops the loop after the round in flight, drops the listener, ends an own pool. Idempotent. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener !== undefined) {
      await listener.query('UNLISTEN *').catch(() => undefined);
      listener.removeAllListeners('notification');
      if (this.#onListenerError) listener.removeListener('error', this.#onListenerError);
      listener.release();
    }
    if (!this.#closed) {
      this.#closed = true;
      if (this.#conn.ownsPool) await this.#conn.pool.end();
    }
  }
}

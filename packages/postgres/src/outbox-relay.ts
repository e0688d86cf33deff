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
   * running; a channel being sent by one relay is left alone by the others, so relays share the
   * work channel by channel. `'none'`: relays share every row (`SKIP LOCKED`), faster with many
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

/**
 * Moves committed outbox rows to a transport, in id order per channel, with retries and backoff.
 * Several relays may run at once (in one or many processes): a short claiming transaction
 * (`FOR UPDATE`, or `FOR UPDATE SKIP LOCKED` with `ordering: 'none'`) leases each row to one relay,
 * so no row is sent twice while its lease lasts. Delivery is at-least-once: a relay that dies
 * after sending but before marking the rows sent leaves them to be sent again when the lease ends.
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
        await this.#conn.pool.query(
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
    if (sent.length > 0) {
      await this.#conn.pool.query(
        `UPDATE ${q}.outbox SET sent_at = now(), lease_until = NULL WHERE id = ANY($1::bigint[]) AND claimed_by = $2`,
        [sent, this.id],
      );
    }
    if (released.length > 0) {
      await this.#conn.pool.query(
        `UPDATE ${q}.outbox SET claimed_by = NULL, lease_until = NULL WHERE id = ANY($1::bigint[]) AND claimed_by = $2`,
        [released, this.id],
      );
    }
    return sent.length;
  }

  async #claim(): Promise<OutboxRow[]> {
    const { pool, q } = this.#conn;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const ordered = this.#ordering === 'channel';
      // Ordered: leased rows are read too (they hold back their channel), and a concurrent claim
      // is waited for rather than skipped, so no relay can take a channel's later rows while
      // another holds its earlier ones. Unordered: other relays' rows are simply passed over.
      const { rows } = await client.query<OutboxRow>(
        `SELECT id, channel, message_id, type, body, headers, key, options, attempts,
                available_at <= now() AS due,
                coalesce(lease_until >= now(), false) AS leased_elsewhere,
                coalesce((options->>'delayMs')::bigint, 0)
                  - (extract(epoch FROM (now() - created_at)) * 1000)::bigint AS delay_left_ms
         FROM ${q}.outbox
         WHERE sent_at IS NULL AND failed_at IS NULL
           ${ordered ? '' : 'AND (lease_until IS NULL OR lease_until < now())'}
         ORDER BY id
         LIMIT $1
         FOR UPDATE ${ordered ? '' : 'SKIP LOCKED'}`,
        [this.#batchSize],
      );
      // A row that is not due (backoff) or is being sent by another relay holds back the later
      // rows of its channel.
      const blocked = new Set<string>();
      const claimed = rows.filter((row) => {
        if (blocked.has(row.channel) || !row.due || row.leased_elsewhere) {
          blocked.add(row.channel);
          return false;
        }
        return true;
      });
      if (claimed.length > 0) {
        await client.query(
          `UPDATE ${q}.outbox SET claimed_by = $2, lease_until = now() + $3 * interval '1 millisecond'
           WHERE id = ANY($1::bigint[])`,
          [claimed.map((r) => r.id), this.id, this.#leaseMs],
        );
      }
      await client.query('COMMIT');
      client.release();
      return claimed;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(error instanceof Error ? error : true);
      throw error;
    }
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
    const result = await this.#conn.pool.query(
      `UPDATE ${this.#conn.q}.outbox SET failed_at = NULL, attempts = 0, available_at = now()
       WHERE failed_at IS NOT NULL`,
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

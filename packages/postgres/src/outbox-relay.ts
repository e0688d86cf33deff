import {
  type BackoffPolicy,
  ConfigError,
  consoleLogger,
  type HealthCheck,
  type Logger,
  newId,
  type SendOptions,
  type Transport,
  type TransportMessage,
} from '@finaegis/core';
import { DEFAULT_RETRY_POLICY, failureDecision, formatCause } from '@finaegis/core/adapter';
import { type PostgresConnectionOptions, type ResolvedConnection, resolveConnection } from './connection';
import { NotificationListener } from './notification-listener';
import { OutboxClaims, type OutboxRow, retryConflicts } from './outbox-claims';
import { PostgresError } from './postgres-error';
import { relayHealth } from './postgres-health';
import { outboxChannel } from './postgres-transaction-manager';
import { isConflict } from './sql-state';

const ADAPTER = '@finaegis/postgres';

/** Options of `createOutboxRelay()`. */
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
  /** Where failed sends and lost connections are reported. Default `consoleLogger('finaegis.postgres')`. */
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

function positive(key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(key, value, 'a number greater than 0', { adapter: ADAPTER });
  return value;
}

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
class OutboxRelay {
  readonly id: string = newId();
  readonly #conn: ResolvedConnection;
  readonly #transport: Pick<Transport, 'name' | 'send'>;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #retry: { readonly attempts: number; readonly backoff: BackoffPolicy };
  readonly #claims: OutboxClaims;
  readonly #listener: NotificationListener | undefined;
  readonly #logger: Logger;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #notified = false;
  #closed = false;
  #roundError: string | undefined;

  constructor(options: OutboxRelayOptions) {
    this.#conn = resolveConnection(options);
    this.#transport = options.transport;
    this.#batchSize = Math.floor(positive('batchSize', options.batchSize, 100));
    this.#pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs, 1000);
    const leaseMs = Math.ceil(positive('leaseMs', options.leaseMs, 30_000));
    this.#retry = {
      attempts: Math.floor(positive('maxAttempts', options.maxAttempts, 10)),
      backoff: options.backoff ?? DEFAULT_RETRY_POLICY.backoff,
    };
    const ordering = options.ordering ?? 'channel';
    if (ordering !== 'channel' && ordering !== 'none') {
      throw new ConfigError('ordering', ordering, "'channel' or 'none'", { adapter: ADAPTER });
    }
    this.#claims = new OutboxClaims(this.#conn, this.id, { ordering, batchSize: this.#batchSize, leaseMs });
    this.#logger = options.logger ?? consoleLogger('finaegis.postgres');
    this.#listener =
      (options.listen ?? true)
        ? new NotificationListener(this.#conn, outboxChannel(this.#conn.schema), this.#logger, () => {
            this.#notified = true;
            this.#wake?.();
          })
        : undefined;
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
        const decision = failureDecision(error, attempts, this.#retry);
        const giveUp = decision.action === 'dead-letter';
        const lastError = formatCause(error, 1);
        this.#logger.warn(giveUp ? 'Outbox message set aside' : 'Outbox send failed, will retry', {
          outboxId: row.id,
          channel: row.channel,
          type: row.type,
          attempts,
          error: formatCause(error),
        });
        await this.#claims.settleOne(
          `UPDATE ${q}.outbox SET attempts = $2, last_error = $3, claimed_by = NULL, lease_until = NULL,
             available_at = now() + $4 * interval '1 millisecond', failed_at = CASE WHEN $5 THEN now() END
           WHERE id = $1 AND claimed_by = $6`,
          [row.id, attempts, lastError, decision.action === 'retry' ? decision.delayMs : 0, giveUp, this.id],
        );
      }
    }
    if (sent.length > 0) await this.#claims.settle(sent, 'sent_at = now(), lease_until = NULL');
    if (released.length > 0) await this.#claims.settle(released, 'claimed_by = NULL, lease_until = NULL');
    return sent.length;
  }

  /** Leases the next rows to this relay. A conflict is retried; it never fails the round. */
  async #claim(): Promise<OutboxRow[]> {
    try {
      return await this.#claims.claim();
    } catch (error) {
      if (!isConflict(error)) throw error;
      // Rows stay where they were; the next round claims them.
      this.#logger.warn('Outbox claim kept colliding, trying again next round', {
        error: formatCause(error),
      });
      return [];
    }
  }

  /** Starts relaying in the background until `stop()`. Idempotent. */
  async start(): Promise<void> {
    if (this.#running) return;
    if (this.#closed) throw new PostgresError('stopped', 'OutboxRelay was stopped');
    this.#running = true;
    await this.#listener?.start();
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let sent = 0;
      // A NOTIFY that arrives while a round runs is remembered, so the loop does not sleep past it.
      this.#notified = false;
      try {
        sent = await this.runOnce();
        this.#roundError = undefined;
      } catch (error) {
        this.#roundError = formatCause(error, 1);
        this.#logger.error('Outbox relay round failed', { error: formatCause(error) });
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

  /** Its loop running, its last round working, and the rows waiting (postgres-health.ts). */
  health(): Promise<readonly HealthCheck[]> {
    const { pool, q } = this.#conn;
    const state = { running: this.#running, stopped: this.#closed, roundError: this.#roundError };
    return relayHealth({ ...state, pool, table: `${q}.outbox` });
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
    await this.#listener?.stop();
    if (!this.#closed) {
      this.#closed = true;
      if (this.#conn.ownsPool) await this.#conn.pool.end();
    }
  }
}

/** Creates an outbox relay (see {@link OutboxRelay}). */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  return new OutboxRelay(options);
}

export type { OutboxRelay };

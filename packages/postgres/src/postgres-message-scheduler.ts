import {
  ConfigError,
  consoleLogger,
  InvalidArgumentError,
  type Logger,
  type MessageScheduler,
  type TransportMessage,
} from '@finaegis/core';
import { checkChannelName, checkTransportMessage, formatCause } from '@finaegis/core/adapter';
import { notifierFor, runAfterCommit } from './append-notifier';
import {
  currentPostgresTransaction,
  type PostgresConnectionOptions,
  type ResolvedConnection,
  resolveConnection,
} from './connection';
import { NotificationListener } from './notification-listener';
import { retryConflicts } from './outbox-claims';
import { PostgresError } from './postgres-error';
import { outboxChannel } from './postgres-transaction-manager';

const ADAPTER = '@finaegis/postgres';

/** Options of `createPostgresMessageScheduler()`: the connection (pool or URL, schema) and its rounds. */
export interface PostgresMessageSchedulerOptions extends PostgresConnectionOptions {
  /** Due messages moved to the outbox per round. Default 500. */
  readonly batchSize?: number;
  /** Longest sleep between rounds (shorter when a message falls due sooner). Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** Hold one pooled connection to `LISTEN` for newly scheduled messages. Default `true`. */
  readonly listen?: boolean;
  /** Where failed rounds are reported. Default `consoleLogger('finaegis.postgres')`. */
  readonly logger?: Logger;
}

/** The NOTIFY channel on which a schema's newly scheduled messages are announced (after commit). */
function scheduleChannel(schema: string): string {
  return `finaegis_schedule_${schema}`;
}

function positive(key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(key, value, 'a number greater than 0', { adapter: ADAPTER });
  return value;
}

/**
 * Messages kept in `<schema>.scheduled_messages` until due: the timeouts of process managers on a
 * transport that cannot delay (Kafka). `schedule` joins the `PostgresTransactionManager`
 * transaction running in the caller's async context, so a timeout commits with the step that armed
 * it. Once started, the scheduler moves each due message into the outbox, in one transaction per
 * batch (so a message is moved exactly once); the outbox relay then sends it, with its retries,
 * in commit order per channel. Delivery is never before due; it is late by at most the poll
 * interval (less with `listen`) plus the outbox relay's delay. Several schedulers may run at once:
 * each round skips the rows another one is moving.
 */
class PostgresMessageScheduler implements MessageScheduler {
  readonly name = 'postgres';
  readonly #conn: ResolvedConnection;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #logger: Logger;
  readonly #listener: NotificationListener | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #notified = false;
  #closed = false;

  constructor(options: PostgresMessageSchedulerOptions = {}) {
    this.#conn = resolveConnection(options);
    this.#batchSize = Math.floor(positive('batchSize', options.batchSize, 500));
    this.#pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs, 1000);
    this.#logger = options.logger ?? consoleLogger('finaegis.postgres');
    this.#listener =
      (options.listen ?? true)
        ? new NotificationListener(this.#conn, scheduleChannel(this.#conn.schema), this.#logger, () => {
            this.#notified = true;
            this.#wake?.();
          })
        : undefined;
  }

  async schedule(channel: string, message: TransportMessage, dueAt: number): Promise<void> {
    checkChannelName(ADAPTER, 'channel', channel);
    const checked = checkTransportMessage(ADAPTER, message);
    if (typeof dueAt !== 'number' || !Number.isFinite(dueAt)) {
      throw new InvalidArgumentError(
        ADAPTER,
        'dueAt',
        `must be a number of ms since the epoch, got ${String(dueAt)}`,
      );
    }
    const { pool, q, schema } = this.#conn;
    const tx = currentPostgresTransaction();
    const joined = tx !== undefined && tx.schema === schema;
    await (joined ? tx.client : pool).query(
      `INSERT INTO ${q}.scheduled_messages (channel, message_id, type, body, headers, key, due_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, 'epoch'::timestamptz + $7::bigint * interval '1 millisecond')`,
      [
        channel,
        checked.id,
        checked.type,
        checked.body,
        JSON.stringify(checked.headers),
        checked.key ?? null,
        Math.round(dueAt),
      ],
    );
    // A running scheduler may be asleep until a later message: it looks again once this commits.
    const poke = () => notifierFor(pool, scheduleChannel(schema)).poke();
    if (joined) runAfterCommit(tx.client, poke);
    else poke();
  }

  /** Moves the due messages (at most one batch) into the outbox. Returns how many. */
  async releaseDue(): Promise<number> {
    const { pool, q, schema } = this.#conn;
    const { rows } = await retryConflicts(() =>
      pool.query<{ moved: number }>(`SELECT ${q}.release_scheduled($1) AS moved`, [this.#batchSize]),
    );
    const moved = rows[0]?.moved ?? 0;
    if (moved > 0) notifierFor(pool, outboxChannel(schema)).poke();
    return moved;
  }

  /** Messages waiting until due. */
  async pending(): Promise<number> {
    const { rows } = await this.#conn.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.#conn.q}.scheduled_messages`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Starts moving due messages in the background until `stop()`. Idempotent. */
  async start(): Promise<void> {
    if (this.#running) return;
    if (this.#closed) throw new PostgresError('stopped', 'PostgresMessageScheduler was stopped');
    this.#running = true;
    await this.#listener?.start();
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      this.#notified = false;
      let wait = this.#pollIntervalMs;
      try {
        if ((await this.releaseDue()) >= this.#batchSize) continue;
        wait = Math.min(wait, await this.#untilNextDue());
      } catch (error) {
        this.#logger.error('Scheduled message round failed', { error: formatCause(error) });
      }
      if (this.#notified || !this.#running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, wait));
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
  }

  /** Milliseconds until the next message falls due (the poll interval when none waits). */
  async #untilNextDue(): Promise<number> {
    const { rows } = await this.#conn.pool.query<{ ms: string | null }>(
      `SELECT ceil(extract(epoch FROM (min(due_at) - now())) * 1000)::bigint AS ms FROM ${this.#conn.q}.scheduled_messages`,
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? this.#pollIntervalMs : Math.max(0, Number(ms));
  }

  /** Stops after the round in flight, drops the listener, ends an own pool. Idempotent. */
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

/** Creates a message scheduler on PostgreSQL (see {@link PostgresMessageScheduler}). */
export function createPostgresMessageScheduler(
  options: PostgresMessageSchedulerOptions = {},
): PostgresMessageScheduler {
  return new PostgresMessageScheduler(options);
}

export type { PostgresMessageScheduler };

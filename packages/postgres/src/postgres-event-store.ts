import {
  type AppendResult,
  ConcurrencyError,
  DuplicateEventError,
  type EventStore,
  type ExpectedVersion,
  type HealthCheck,
  InvalidArgumentError,
  type NewEvent,
  type Snapshot,
  type StoredEvent,
} from '@finaegis/core';
import { appendNotifier, runAfterCommit } from './append-notifier';
import {
  currentPostgresTransaction,
  isUniqueViolation,
  type PostgresConnectionOptions,
  type PostgresTransaction,
  type Queryable,
  type ResolvedConnection,
  resolveConnection,
} from './connection';
import { PostgresError } from './postgres-error';
import { databaseHealth } from './postgres-health';

const ADAPTER = '@finaegis/postgres';

/** Options of `createPostgresEventStore()`. */
export interface PostgresEventStoreOptions extends PostgresConnectionOptions {
  /**
   * Join the transaction of a `PostgresTransactionManager` running in the caller's async context
   * (as inside `commandBus.dispatchTransaction`): reads and appends then go through that
   * transaction's client. Default `true`.
   */
  readonly joinTransactions?: boolean;
  /**
   * After an append commits, `NOTIFY` listeners on this schema (see `listenForAppends`), so push
   * subscribers read at once instead of at their next poll. Sent outside the appending
   * transaction and coalesced (one in flight per pool and schema). Default `true`.
   */
  readonly notify?: boolean;
  /**
   * How long `readAll` waits for committed events it holds back because an older transaction of
   * the database is still running, before returning only what lies below it. Default 2000 ms.
   */
  readonly holdBackWaitMs?: number;
}

interface AppendRow {
  ok: boolean;
  stream_version: number;
  last_position: string;
  duplicate_event_id: string | null;
}

interface EventRow {
  position: string;
  event_id: string;
  stream_id: string;
  version: number;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  occurred_ms: string;
}

const EVENT_COLUMNS =
  'position, event_id, stream_id, version, type, data, metadata, round(extract(epoch FROM occurred_at) * 1000)::bigint AS occurred_ms';

function toStored(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    occurredAt: Number(row.occurred_ms),
    streamId: row.stream_id,
    version: row.version,
    position: Number(row.position),
  };
}

function expectation(expected: ExpectedVersion): { mode: 'exact' | 'any' | 'exists'; version: number } {
  if (expected === 'any') return { mode: 'any', version: 0 };
  if (expected === 'exists') return { mode: 'exists', version: 0 };
  if (expected === 'no_stream') return { mode: 'exact', version: 0 };
  if (!Number.isSafeInteger(expected) || expected < 0) {
    throw new InvalidArgumentError(
      ADAPTER,
      'expectedVersion',
      `must be an integer >= 0, 'any', 'no_stream' or 'exists', got ${String(expected)}`,
    );
  }
  return { mode: 'exact', version: expected };
}

function positiveInt(key: string, value: number | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(ADAPTER, key, `must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

// The stream lock `append_events` takes (migration 0002): first key, the second hashes
// schema/stream id. `lockStream` takes the same lock, so it also holds back appenders that do not lock.
const STREAM_LOCK_CLASS = 4_604_238;

/**
 * EventStore on PostgreSQL. Appends are one statement (a function installed by `migrate`) that
 * locks only its own stream; a position is derived from the appending transaction's id, and
 * `readAll` returns only positions below the oldest transaction of the database still running, so a reader never
 * skips an event that commits later. Positions have gaps; see README.
 */
class PostgresEventStore implements EventStore {
  readonly name = 'postgres';
  readonly #conn: ResolvedConnection;
  readonly #joinTransactions: boolean;
  readonly #notify: boolean;
  readonly #holdBackWaitMs: number;
  #closed = false;

  constructor(options: PostgresEventStoreOptions = {}) {
    this.#conn = resolveConnection(options);
    this.#joinTransactions = options.joinTransactions ?? true;
    this.#notify = options.notify ?? true;
    this.#holdBackWaitMs = positiveInt('holdBackWaitMs', options.holdBackWaitMs, 0) ?? 2_000;
  }

  /** The schema this store reads and writes. */
  get schema(): string {
    return this.#conn.schema;
  }

  #transaction(): PostgresTransaction | undefined {
    if (!this.#joinTransactions) return undefined;
    const tx = currentPostgresTransaction();
    return tx !== undefined && tx.schema === this.#conn.schema ? tx : undefined;
  }

  #db(): Queryable {
    return this.#transaction()?.client ?? this.#conn.pool;
  }

  async append(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: ExpectedVersion },
  ): Promise<AppendResult> {
    const { mode, version } = expectation(options.expectedVersion);
    const seen = new Set<string>();
    for (const event of events) {
      if (seen.has(event.eventId))
        throw new DuplicateEventError(streamId, event.eventId, { adapter: ADAPTER });
      seen.add(event.eventId);
      if (!Number.isFinite(event.occurredAt)) {
        throw new InvalidArgumentError(
          ADAPTER,
          'occurredAt',
          `must be milliseconds since the epoch, got ${String(event.occurredAt)}`,
        );
      }
    }
    const payload = JSON.stringify(
      events.map((e) => ({
        eventId: e.eventId,
        type: e.type,
        data: e.data,
        metadata: e.metadata,
        occurredAt: Math.round(e.occurredAt),
      })),
    );
    let row: AppendRow | undefined;
    const tx = this.#transaction();
    try {
      const result = await (tx?.client ?? this.#conn.pool).query<AppendRow>(
        `SELECT ok, stream_version, last_position, duplicate_event_id FROM ${this.#conn.q}.append_events($1, $2, $3, $4::jsonb)`,
        [streamId, mode, version, payload],
      );
      row = result.rows[0];
    } catch (error) {
      if (isUniqueViolation(error)) {
        if (error.constraint === 'events_event_id_key') {
          const id = /\(event_id\)=\((.*)\)/.exec((error as { detail?: string }).detail ?? '')?.[1];
          throw new DuplicateEventError(streamId, id ?? events[0]?.eventId ?? '', {
            adapter: ADAPTER,
            cause: error,
          });
        }
        throw new ConcurrencyError(streamId, version, undefined, { adapter: ADAPTER, cause: error });
      }
      if ((error as { code?: string }).code === '54000') {
        throw new InvalidArgumentError(ADAPTER, 'events', (error as Error).message);
      }
      throw error;
    }
    if (row === undefined) throw new PostgresError('unexpected-result', 'append_events returned no row');
    if (row.duplicate_event_id !== null)
      throw new DuplicateEventError(streamId, row.duplicate_event_id, { adapter: ADAPTER });
    if (!row.ok) {
      throw new ConcurrencyError(streamId, mode === 'exists' ? 1 : version, row.stream_version, {
        adapter: ADAPTER,
      });
    }
    if (this.#notify && events.length > 0) {
      const notifier = appendNotifier(this.#conn.pool, this.#conn.schema);
      if (tx === undefined) notifier.poke();
      else runAfterCommit(tx.client, () => notifier.poke());
    }
    return { version: row.stream_version, position: Number(row.last_position) };
  }

  /**
   * Takes a transaction-level advisory lock on the stream (schema and stream id), so writers of a
   * hot stream queue up instead of retrying on `ConcurrencyError`. The transaction gets no xid by
   * waiting, so readers of `readAll` are not held back by writers in the queue.
   * @throws PostgresError (`no-transaction`) outside a transaction of a PostgreSQL transaction
   *   manager on this store's schema.
   */
  async lockStream(streamId: string): Promise<void> {
    const tx = this.#transaction();
    if (tx === undefined) {
      throw new PostgresError(
        'no-transaction',
        `lockStream('${streamId}') runs only inside a transaction of a PostgreSQL transaction manager on schema ${this.#conn.schema} (app.transaction or dispatchTransaction); a lock outside one would be released at once`,
      );
    }
    await tx.client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
      STREAM_LOCK_CLASS,
      `${this.#conn.schema}/${streamId}`,
    ]);
  }

  async readStream(
    streamId: string,
    options: { fromVersion?: number; limit?: number } = {},
  ): Promise<StoredEvent[]> {
    const from = positiveInt('fromVersion', options.fromVersion, 1) ?? 1;
    const limit = positiveInt('limit', options.limit, 0);
    const result = await this.#db().query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${this.#conn.q}.events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`,
      [streamId, from, limit ?? null],
    );
    return result.rows.map(toStored);
  }

  /** The highest position `readAll` would return now (0 when empty). */
  async headPosition(): Promise<number> {
    const result = await this.#db().query<{ p: string }>(
      `SELECT coalesce(max(position), 0) AS p FROM ${this.#conn.q}.events WHERE position < ${this.#conn.q}.visible_position_bound()`,
    );
    return Number(result.rows[0]?.p ?? 0);
  }

  async readAll(options: { after?: number; limit?: number } = {}): Promise<StoredEvent[]> {
    const after = positiveInt('after', options.after, 0) ?? 0;
    const limit = positiveInt('limit', options.limit, 0);
    // Inside a transaction that appended, its own events stay held back until it commits: no wait.
    const deadline = Date.now() + (this.#transaction() === undefined ? this.#holdBackWaitMs : 0);
    for (;;) {
      // The page as committed and the bound below which nothing can still commit (the oldest
      // running transaction of the database, see migration 0002); only rows below it are given out.
      const result = await this.#db().query<EventRow & { bound: string }>(
        `SELECT bound, position, event_id, stream_id, version, type, data, metadata, occurred_ms
           FROM ${this.#conn.q}.read_all($1, $2)`,
        [after, limit ?? null],
      );
      const rows = result.rows;
      const bound = rows.length === 0 ? 0 : Number(rows[0]!.bound);
      const visible = rows.filter((row) => Number(row.position) < bound);
      // Committed rows held back by an older transaction still running: wait for it a little, so a
      // reader right after an append sees it (read your writes), then give out what is safe.
      if (visible.length === rows.length || Date.now() >= deadline) return visible.map(toStored);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  async streamVersion(streamId: string): Promise<number> {
    const result = await this.#db().query<{ version: number }>(
      `SELECT coalesce(max(version), 0) AS version FROM ${this.#conn.q}.events WHERE stream_id = $1`,
      [streamId],
    );
    return result.rows[0]?.version ?? 0;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    positiveInt('version', snapshot.version, 0);
    await this.#db().query(
      `INSERT INTO ${this.#conn.q}.snapshots (stream_id, version, state, schema_version, saved_at)
       VALUES ($1, $2, $3::jsonb, $4, now())
       ON CONFLICT (stream_id) DO UPDATE
       SET version = excluded.version, state = excluded.state, schema_version = excluded.schema_version, saved_at = now()`,
      [
        snapshot.streamId,
        snapshot.version,
        JSON.stringify(snapshot.state ?? null),
        snapshot.schemaVersion ?? null,
      ],
    );
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    const result = await this.#db().query<{
      version: number;
      state: unknown;
      schema_version: number | null;
    }>(`SELECT version, state, schema_version FROM ${this.#conn.q}.snapshots WHERE stream_id = $1`, [
      streamId,
    ]);
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return row.schema_version === null
      ? { streamId, version: row.version, state: row.state }
      : { streamId, version: row.version, state: row.state, schemaVersion: row.schema_version };
  }

  /** The database answering on this store's pool (postgres-health.ts). */
  health(): Promise<readonly HealthCheck[]> {
    return databaseHealth(this.#conn.pool);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#conn.ownsPool) await this.#conn.pool.end();
  }
}

/** Creates an event store on PostgreSQL (see {@link PostgresEventStore}). */
export function createPostgresEventStore(options: PostgresEventStoreOptions = {}): PostgresEventStore {
  return new PostgresEventStore(options);
}

export type { PostgresEventStore };

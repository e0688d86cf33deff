import {
  ConcurrencyError,
  InvalidArgumentError,
  type ProcessHistoryEntry,
  type ProcessQuery,
  type ProcessRecord,
  type ProcessStatus,
  type ProcessStore,
} from '@finaegis/core';
import {
  currentPostgresTransaction,
  type PostgresConnectionOptions,
  type Queryable,
  type ResolvedConnection,
  resolveConnection,
} from './connection';

const ADAPTER = '@finaegis/postgres';
const STATUSES: readonly ProcessStatus[] = ['running', 'completed', 'failed', 'compensated'];

/** A time in ms since the epoch, as SQL (exact to the millisecond). */
const AT = (param: string) => `'epoch'::timestamptz + ${param}::bigint * interval '1 millisecond'`;
/** A timestamptz column as ms since the epoch. */
const MS = (column: string) => `(extract(epoch FROM ${column}) * 1000)::bigint`;

const RECORD_COLUMNS = `process_type, process_id, status, version, state, timeouts, failure, parked,
  ${MS('started_at')} AS started_ms, ${MS('updated_at')} AS updated_ms`;

interface ProcessRow {
  process_type: string;
  process_id: string;
  status: ProcessStatus;
  version: number;
  state: unknown;
  timeouts: ProcessRecord['timeouts'];
  failure: NonNullable<ProcessRecord['failure']> | null;
  parked: ProcessRecord['parked'];
  started_ms: string;
  updated_ms: string;
}

interface HistoryRow {
  version: number;
  at_ms: string;
  kind: ProcessHistoryEntry['kind'];
  status: ProcessStatus;
  message_id: string | null;
  message_type: string | null;
  error: NonNullable<ProcessHistoryEntry['error']> | null;
}

/**
 * Processes in `<schema>.processes`, their history in `<schema>.process_history`. Inside a
 * transaction of a `PostgresTransactionManager` on the same schema every read and write joins it,
 * so a process step commits with the outbox rows of the commands it sent. A save is one statement
 * whose `WHERE version = expected` makes the row lock decide races: of concurrent saves of one
 * version, the first to commit wins and the others find another version (`ConcurrencyError`).
 */
class PostgresProcessStore implements ProcessStore {
  readonly name = 'postgres';
  readonly #conn: ResolvedConnection;
  #closed = false;

  constructor(options: PostgresConnectionOptions = {}) {
    this.#conn = resolveConnection(options);
  }

  #db(): Queryable {
    const tx = currentPostgresTransaction();
    return tx !== undefined && tx.schema === this.#conn.schema ? tx.client : this.#conn.pool;
  }

  async load(processType: string, processId: string): Promise<ProcessRecord | undefined> {
    checkKey(processType, processId);
    const { rows } = await this.#db().query<ProcessRow>(
      `SELECT ${RECORD_COLUMNS} FROM ${this.#conn.q}.processes WHERE process_type = $1 AND process_id = $2`,
      [processType, processId],
    );
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async handled(processType: string, processId: string, messageId: string): Promise<boolean> {
    checkKey(processType, processId);
    checkText(messageId, 'messageId');
    const { rows } = await this.#db().query(
      `SELECT 1 FROM ${this.#conn.q}.process_history
       WHERE process_type = $1 AND process_id = $2 AND message_id = $3`,
      [processType, processId, messageId],
    );
    return rows.length > 0;
  }

  async save(
    record: ProcessRecord,
    entry: ProcessHistoryEntry,
    options: { expectedVersion: number },
  ): Promise<void> {
    checkKey(record?.processType, record?.processId, 'record.');
    const expected = options?.expectedVersion;
    if (!Number.isInteger(expected) || expected < 0) {
      throw new InvalidArgumentError(
        ADAPTER,
        'expectedVersion',
        `must be an integer >= 0, got ${String(expected)}`,
      );
    }
    checkVersions(record, entry, expected);
    if (!STATUSES.includes(record.status)) {
      throw new InvalidArgumentError(ADAPTER, 'record.status', `must be one of ${STATUSES.join(', ')}`);
    }
    const q = this.#conn.q;
    const values = [
      record.processType,
      record.processId,
      record.status,
      record.version,
      json(record.state, 'record.state'),
      json(record.timeouts, 'record.timeouts'),
      record.failure === undefined ? null : json(record.failure, 'record.failure'),
      json(record.parked, 'record.parked'),
      record.startedAt,
      record.updatedAt,
      expected,
      entry.at,
      entry.kind,
      entry.status,
      entry.messageId ?? null,
      entry.messageType ?? null,
      entry.error === undefined ? null : json(entry.error, 'entry.error'),
    ];
    // One statement: the process and its history entry are written together or not at all, also
    // outside a transaction.
    const write =
      expected === 0
        ? `INSERT INTO ${q}.processes AS p (process_type, process_id, status, version, state, timeouts,
             failure, parked, started_at, updated_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8::jsonb, ${AT('$9')}, ${AT('$10')})
           ON CONFLICT DO NOTHING RETURNING $11::integer AS expected`
        : `UPDATE ${q}.processes SET status = $3, version = $4, state = $5::jsonb, timeouts = $6::jsonb,
             failure = $7::jsonb, parked = $8::jsonb, started_at = ${AT('$9')}, updated_at = ${AT('$10')}
           WHERE process_type = $1 AND process_id = $2 AND version = $11
             AND ($15::text IS NULL OR NOT EXISTS (
               SELECT 1 FROM ${q}.process_history h
               WHERE h.process_type = $1 AND h.process_id = $2 AND h.message_id = $15))
           RETURNING version`;
    const db = this.#db();
    const { rows } = await db.query<{ written: number }>(
      `WITH written AS (${write}),
       history AS (
         INSERT INTO ${q}.process_history (process_type, process_id, version, at, kind, status,
           message_id, message_type, error)
         SELECT $1, $2, $4, ${AT('$12')}, $13, $14, $15, $16, $17::jsonb FROM written
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM written)::integer AS written`,
      values,
    );
    if (rows[0]?.written === 1) return;
    // Read again: the statement's snapshot may predate the save that won.
    const found = await db.query<{ version: number }>(
      `SELECT version FROM ${q}.processes WHERE process_type = $1 AND process_id = $2`,
      [record.processType, record.processId],
    );
    const current = found.rows[0]?.version ?? 0;
    const where = `process ${record.processType}/${record.processId}`;
    throw new ConcurrencyError(
      current === expected ? `${where} (message ${String(entry.messageId)} already handled)` : where,
      expected,
      current,
      { adapter: ADAPTER },
    );
  }

  async history(processType: string, processId: string): Promise<ProcessHistoryEntry[]> {
    checkKey(processType, processId);
    const { rows } = await this.#db().query<HistoryRow>(
      `SELECT version, ${MS('at')} AS at_ms, kind, status, message_id, message_type, error
       FROM ${this.#conn.q}.process_history WHERE process_type = $1 AND process_id = $2 ORDER BY version`,
      [processType, processId],
    );
    return rows.map((row) => ({
      version: row.version,
      at: Number(row.at_ms),
      kind: row.kind,
      status: row.status,
      ...(row.message_id === null ? {} : { messageId: row.message_id }),
      ...(row.message_type === null ? {} : { messageType: row.message_type }),
      ...(row.error === null ? {} : { error: row.error }),
    }));
  }

  async list(query: ProcessQuery = {}): Promise<ProcessRecord[]> {
    const limit = count(query.limit, 'limit', 100);
    const offset = count(query.offset, 'offset', 0);
    const { rows } = await this.#db().query<ProcessRow>(
      `SELECT ${RECORD_COLUMNS} FROM ${this.#conn.q}.processes
       WHERE ($1::text IS NULL OR process_type = $1) AND ($2::text IS NULL OR status = $2)
       ORDER BY started_at DESC, process_type, process_id LIMIT $3 OFFSET $4`,
      [query.processType ?? null, query.status ?? null, limit, offset],
    );
    return rows.map(toRecord);
  }

  async counts(processType?: string): Promise<Record<ProcessStatus, number>> {
    const { rows } = await this.#db().query<{ status: ProcessStatus; n: string }>(
      `SELECT status, count(*) AS n FROM ${this.#conn.q}.processes
       WHERE ($1::text IS NULL OR process_type = $1) GROUP BY status`,
      [processType ?? null],
    );
    const counts: Record<ProcessStatus, number> = { running: 0, completed: 0, failed: 0, compensated: 0 };
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }

  /** Ends the pool if this store opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#conn.ownsPool) await this.#conn.pool.end();
  }
}

function toRecord(row: ProcessRow): ProcessRecord {
  const record: ProcessRecord = {
    processType: row.process_type,
    processId: row.process_id,
    status: row.status,
    version: row.version,
    state: row.state,
    timeouts: row.timeouts,
    parked: row.parked,
    startedAt: Number(row.started_ms),
    updatedAt: Number(row.updated_ms),
  };
  return row.failure === null ? record : { ...record, failure: row.failure };
}

function json(value: unknown, argument: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidArgumentError(
      ADAPTER,
      argument,
      `is not JSON-compatible (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  if (text === undefined) throw new InvalidArgumentError(ADAPTER, argument, 'is not JSON-compatible');
  return text;
}

function count(value: unknown, argument: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(ADAPTER, argument, `must be an integer >= 0, got ${String(value)}`);
  }
  return value;
}

function checkText(value: unknown, argument: string): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(
      ADAPTER,
      argument,
      `must be a non-empty string, got ${JSON.stringify(value)}`,
    );
  }
}

function checkKey(processType: unknown, processId: unknown, prefix = ''): void {
  checkText(processType, `${prefix}processType`);
  checkText(processId, `${prefix}processId`);
}

function checkVersions(record: ProcessRecord, entry: ProcessHistoryEntry, expected: number): void {
  if (record.version !== expected + 1) {
    throw new InvalidArgumentError(
      ADAPTER,
      'record.version',
      `must be expectedVersion + 1 (${expected + 1}), got ${String(record.version)}`,
    );
  }
  if (entry?.version !== record.version) {
    throw new InvalidArgumentError(
      ADAPTER,
      'entry.version',
      `must be the record's version (${record.version}), got ${String(entry?.version)}`,
    );
  }
  for (const [argument, value] of [
    ['record.startedAt', record.startedAt],
    ['record.updatedAt', record.updatedAt],
    ['entry.at', entry.at],
  ] as const) {
    if (!Number.isSafeInteger(value)) {
      throw new InvalidArgumentError(
        ADAPTER,
        argument,
        `must be an integer of ms since the epoch, got ${String(value)}`,
      );
    }
  }
}

/** Creates a process store on PostgreSQL (see {@link PostgresProcessStore}). */
export function createPostgresProcessStore(options: PostgresConnectionOptions = {}): PostgresProcessStore {
  return new PostgresProcessStore(options);
}

export type { PostgresProcessStore };

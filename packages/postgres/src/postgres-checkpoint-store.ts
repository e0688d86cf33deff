import { type CheckpointStore, InvalidArgumentError } from '@finaegis/core';
import {
  currentPostgresTransaction,
  type PostgresConnectionOptions,
  type Queryable,
  type ResolvedConnection,
  resolveConnection,
} from './connection';

/**
 * Projection checkpoints in `<schema>.checkpoints`. Inside a PostgresTransactionManager transaction
 * the save joins it, so a projection can update its read model and its position atomically.
 */
class PostgresCheckpointStore implements CheckpointStore {
  readonly #conn: ResolvedConnection;
  #closed = false;

  constructor(options: PostgresConnectionOptions = {}) {
    this.#conn = resolveConnection(options);
  }

  #db(): Queryable {
    const tx = currentPostgresTransaction();
    return tx !== undefined && tx.schema === this.#conn.schema ? tx.client : this.#conn.pool;
  }

  async load(projection: string): Promise<number> {
    const result = await this.#db().query<{ position: string }>(
      `SELECT position FROM ${this.#conn.q}.checkpoints WHERE projection = $1`,
      [projection],
    );
    const row = result.rows[0];
    return row === undefined ? 0 : Number(row.position);
  }

  async save(projection: string, position: number): Promise<void> {
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new InvalidArgumentError(
        '@finaegis/postgres',
        'position',
        `must be an integer >= 0, got ${String(position)}`,
      );
    }
    await this.#db().query(
      `INSERT INTO ${this.#conn.q}.checkpoints (projection, position, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (projection) DO UPDATE SET position = excluded.position, updated_at = now()`,
      [projection, position],
    );
  }

  /** Ends the pool if this store opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#conn.ownsPool) await this.#conn.pool.end();
  }
}

/** Creates a checkpoint store on PostgreSQL (see {@link PostgresCheckpointStore}). */
export function createPostgresCheckpointStore(
  options: PostgresConnectionOptions = {},
): PostgresCheckpointStore {
  return new PostgresCheckpointStore(options);
}

export type { PostgresCheckpointStore };

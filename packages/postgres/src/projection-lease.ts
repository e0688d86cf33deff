import type { ProjectionLease } from '@finaegis/core';
import type pg from 'pg';
import { type PostgresConnectionOptions, type ResolvedConnection, resolveConnection } from './connection';

// First key of the two-key advisory locks that hold projections; the second hashes schema/name.
const PROJECTION_LOCK_CLASS = 0x46_41_50; // "FAP"
// How long a held lease is trusted without asking its connection whether it is still there.
const VERIFY_EVERY_MS = 1_000;

interface Held {
  readonly client: pg.PoolClient;
  readonly onError: (error: Error) => void;
  verifiedAt: number;
}

/**
 * A `ProjectionLease` on PostgreSQL session advisory locks: the holder keeps one pooled connection
 * per projection with `pg_try_advisory_lock` taken on it. When the holding process dies (even
 * SIGKILL), the server ends its session and the lock goes with it, so another process's next
 * `acquire` (every `pollIntervalMs` of its projector) takes over; no lease row to expire, no clock
 * to trust. A holder whose connection broke finds out at its next `acquire` and stops applying.
 */
class PostgresProjectionLease implements ProjectionLease {
  readonly #conn: ResolvedConnection;
  readonly #held = new Map<string, Held>();
  #closed = false;

  constructor(options: PostgresConnectionOptions = {}) {
    this.#conn = resolveConnection(options);
  }

  #key(projection: string): string {
    return `${this.#conn.schema}/${projection}`;
  }

  async acquire(projection: string): Promise<boolean> {
    const held = this.#held.get(projection);
    if (held !== undefined) {
      if (Date.now() - held.verifiedAt < VERIFY_EVERY_MS) return true;
      try {
        await held.client.query('SELECT 1');
        held.verifiedAt = Date.now();
        return true;
      } catch (error) {
        this.#drop(projection, held, error);
      }
    }
    const client = await this.#conn.pool.connect();
    let taken: boolean;
    try {
      const result = await client.query<{ taken: boolean }>(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS taken',
        [PROJECTION_LOCK_CLASS, this.#key(projection)],
      );
      taken = result.rows[0]?.taken === true;
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    if (!taken) {
      client.release();
      return false;
    }
    const entry: Held = {
      client,
      verifiedAt: Date.now(),
      onError: (error) => this.#drop(projection, entry, error),
    };
    client.on('error', entry.onError);
    this.#held.set(projection, entry);
    return true;
  }

  #drop(projection: string, held: Held, error: unknown): void {
    if (this.#held.get(projection) !== held) return;
    this.#held.delete(projection);
    held.client.removeListener('error', held.onError);
    // The session (and its lock) is gone or unknown: never hand this connection out again.
    held.client.release(error instanceof Error ? error : true);
  }

  async release(projection: string): Promise<void> {
    const held = this.#held.get(projection);
    if (held === undefined) return;
    this.#held.delete(projection);
    held.client.removeListener('error', held.onError);
    try {
      await held.client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [
        PROJECTION_LOCK_CLASS,
        this.#key(projection),
      ]);
      held.client.release();
    } catch (error) {
      held.client.release(error instanceof Error ? error : true);
    }
  }

  /** Releases every lease held and ends the pool if this lease opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#held.keys()].map((projection) => this.release(projection)));
    if (this.#conn.ownsPool) await this.#conn.pool.end();
  }
}

/**
 * Creates a lease that lets one process at a time run each projection (pass it as the
 * `Projector`'s `lease`; see {@link PostgresProjectionLease}). Each held projection keeps one
 * connection of the pool.
 */
export function createPostgresProjectionLease(
  options: PostgresConnectionOptions = {},
): PostgresProjectionLease {
  return new PostgresProjectionLease(options);
}

export type { PostgresProjectionLease };

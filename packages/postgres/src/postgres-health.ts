import type { HealthCheck } from '@finaegis/core';
import type { Queryable } from './connection';

/** How long `SELECT 1` may take before the database is reported down. */
const QUERY_TIMEOUT_MS = 1_500;

async function bounded<T>(work: Promise<T>, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new RangeError(`${name}: no answer within ${QUERY_TIMEOUT_MS} ms`)),
          QUERY_TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function down(name: string, error: unknown): HealthCheck {
  return { name, status: 'down', detail: error instanceof Error ? error.message : String(error) };
}

/** The database answering `SELECT 1` on the pool (a pool that was ended reports down). */
export async function databaseHealth(pool: Queryable): Promise<readonly HealthCheck[]> {
  try {
    await bounded(pool.query('SELECT 1'), 'database');
    return [{ name: 'database', status: 'up' }];
  } catch (error) {
    return [down('database', error)];
  }
}

/** What the outbox relay knows about itself, for {@link relayHealth}. */
export interface RelayState {
  readonly running: boolean;
  readonly stopped: boolean;
  /** The error of the last round, when it failed (cleared by a round that works). */
  readonly roundError: string | undefined;
  readonly pool: Queryable;
  /** `<schema>.outbox`, quoted. */
  readonly table: string;
}

/**
 * The relay's health: its loop running (`failed` once stopped: nothing moves the outbox here any
 * more), its last round working, and how many rows wait (from the database, which must answer).
 */
export async function relayHealth(state: RelayState): Promise<readonly HealthCheck[]> {
  if (!state.running) {
    return [{ name: 'relay', status: state.stopped ? 'down' : 'failed', detail: 'not running' }];
  }
  const relay: HealthCheck =
    state.roundError === undefined
      ? { name: 'relay', status: 'up' }
      : { name: 'relay', status: 'down', detail: `last round failed: ${state.roundError}` };
  try {
    const { rows } = await bounded(
      state.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${state.table} WHERE sent_at IS NULL AND failed_at IS NULL`,
      ),
      'outbox',
    );
    return [relay, { name: 'outbox', status: 'up', detail: `${rows[0]?.n ?? 0} message(s) waiting` }];
  } catch (error) {
    return [relay, down('outbox', error)];
  }
}

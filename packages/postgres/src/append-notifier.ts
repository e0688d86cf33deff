import type pg from 'pg';

/** The NOTIFY channel on which a schema's appends are announced (after they commit). */
export function eventsChannel(schema: string): string {
  return `finaegis_events_${schema}`;
}

/**
 * @internal Announces committed appends with `NOTIFY`, outside the appending transaction: a NOTIFY
 * inside it would take PostgreSQL's commit-time notification lock and serialise every append's
 * commit again. Coalesced: while one NOTIFY is in flight, any number of appends add one more, so
 * under load it costs one small query per round trip, not per append. Best effort: a lost NOTIFY
 * costs listeners one poll interval.
 */
class AppendNotifier {
  readonly #pool: pg.Pool;
  readonly #channel: string;
  #inFlight = false;
  #pending = false;

  constructor(pool: pg.Pool, channel: string) {
    this.#pool = pool;
    this.#channel = channel;
  }

  poke(): void {
    if (this.#inFlight) {
      this.#pending = true;
      return;
    }
    this.#inFlight = true;
    this.#pool
      .query('SELECT pg_notify($1, $2)', [this.#channel, ''])
      .catch(() => undefined)
      .finally(() => {
        this.#inFlight = false;
        if (this.#pending) {
          this.#pending = false;
          this.poke();
        }
      });
  }
}

const notifiers = new WeakMap<pg.Pool, Map<string, AppendNotifier>>();

/** @internal One notifier per pool and schema, shared by every store and transaction manager on it. */
export function appendNotifier(pool: pg.Pool, schema: string): AppendNotifier {
  let bySchema = notifiers.get(pool);
  if (bySchema === undefined) notifiers.set(pool, (bySchema = new Map()));
  let notifier = bySchema.get(schema);
  if (notifier === undefined)
    bySchema.set(schema, (notifier = new AppendNotifier(pool, eventsChannel(schema))));
  return notifier;
}

// Work to run once a transaction's COMMIT succeeded, by client (a client runs one transaction at a time).
const afterCommit = new WeakMap<pg.PoolClient, Set<() => void>>();

/** @internal Runs `hook` after the transaction on `client` commits (never when it rolls back). */
export function runAfterCommit(client: pg.PoolClient, hook: () => void): void {
  let hooks = afterCommit.get(client);
  if (hooks === undefined) afterCommit.set(client, (hooks = new Set()));
  hooks.add(hook);
}

/** @internal Called by the transaction manager when its transaction ends. */
export function endTransaction(client: pg.PoolClient, committed: boolean): void {
  const hooks = afterCommit.get(client);
  afterCommit.delete(client);
  if (committed && hooks !== undefined) for (const hook of hooks) hook();
}

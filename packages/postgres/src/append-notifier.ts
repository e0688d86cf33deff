import type pg from 'pg';

/** The NOTIFY channel on which a schema's appends are announced (after they commit). */
export function eventsChannel(schema: string): string {
  return `finaegis_events_${schema}`;
}

/**
 * @internal Announces committed appends (or outbox rows) with `NOTIFY`, outside the transaction
 * that wrote them: a NOTIFY inside it would take PostgreSQL's commit-time notification lock and
 * serialise those commits again. Coalesced: while one NOTIFY is in flight, any number of appends add one more, so
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

/** @internal One notifier per pool and NOTIFY channel, shared by every store and transaction manager on it. */
export function notifierFor(pool: pg.Pool, channel: string): AppendNotifier {
  let byChannel = notifiers.get(pool);
  if (byChannel === undefined) notifiers.set(pool, (byChannel = new Map()));
  let notifier = byChannel.get(channel);
  if (notifier === undefined) byChannel.set(channel, (notifier = new AppendNotifier(pool, channel)));
  return notifier;
}

/** @internal The notifier of a schema's appends. */
export function appendNotifier(pool: pg.Pool, schema: string): AppendNotifier {
  return notifierFor(pool, eventsChannel(schema));
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

import { consoleLogger, type Logger } from '@finaegis/core';
import { eventsChannel } from './append-notifier';
import { type PostgresConnectionOptions, resolveConnection } from './connection';
import { NotificationListener } from './notification-listener';

/** Options of `listenForAppends()`: where the database is, and where connection problems are logged. */
export interface ListenForAppendsOptions extends PostgresConnectionOptions {
  /** Told when the listening connection cannot be opened or is lost. Default: console. */
  readonly logger?: Logger;
}

/** A running push subscription; `close()` gives its connection back. */
export interface AppendSubscription {
  close(): Promise<void>;
}

// After a notification, call again at these delays: an append that committed while an older
// transaction (of this database) was still running is held back by readAll until that one
// ends, and no second NOTIFY would say when.
const FOLLOW_UPS_MS = [10, 50, 250] as const;

/**
 * Calls `onAppend` soon after appends to the schema commit (`LISTEN` on one pooled connection; the
 * event store sends the `NOTIFY`), and a few times more in the next 250 ms. A hint, not a
 * delivery: read the events with `readAll` from your checkpoint, and keep polling as the fallback,
 * since notifications are lost while the connection is down. Typical use:
 * `listenForAppends({ pool, schema }, () => projector.wake())`.
 */
export async function listenForAppends(
  options: ListenForAppendsOptions,
  onAppend: () => void,
): Promise<AppendSubscription> {
  const conn = resolveConnection(options);
  let followUps: NodeJS.Timeout[] = [];
  let closed = false;
  const notified = (): void => {
    if (closed) return;
    for (const timer of followUps) clearTimeout(timer);
    followUps = FOLLOW_UPS_MS.map((ms) => setTimeout(() => closed || onAppend(), ms));
    onAppend();
  };
  const listener = new NotificationListener(
    conn,
    eventsChannel(conn.schema),
    options.logger ?? consoleLogger('postgres'),
    notified,
  );
  await listener.start();
  return {
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of followUps) clearTimeout(timer);
      await listener.stop();
      if (conn.ownsPool) await conn.pool.end();
    },
  };
}

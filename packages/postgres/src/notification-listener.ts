import type { Logger } from '@finaegis/core';
import { formatCause } from '@finaegis/core/adapter';
import type pg from 'pg';
import type { ResolvedConnection } from './connection';

/**
 * @internal One pooled connection that `LISTEN`s on a channel: the outbox relay's (commits that
 * enqueued rows) or push subscribers' (committed appends), so they act at once instead of at their
 * next poll. Losing it only costs latency: they fall back to polling.
 */
export class NotificationListener {
  readonly #conn: ResolvedConnection;
  readonly #channel: string;
  readonly #logger: Logger;
  readonly #onNotify: () => void;
  #client: pg.PoolClient | undefined;
  #onError: ((error: Error) => void) | undefined;

  constructor(conn: ResolvedConnection, channel: string, logger: Logger, onNotify: () => void) {
    this.#conn = conn;
    this.#channel = channel;
    this.#logger = logger;
    this.#onNotify = onNotify;
  }

  /** Starts listening; never rejects (a failure is logged and the relay polls). */
  async start(): Promise<void> {
    try {
      const client = await this.#conn.pool.connect();
      client.on('notification', () => this.#onNotify());
      const onError = (error: Error): void => {
        // Falls back to polling; the relay keeps working.
        this.#logger.warn('Listener lost its connection, polling only', {
          channel: this.#channel,
          error: error.message,
        });
        client.removeListener('error', onError);
        if (this.#client === client) this.#client = undefined;
        client.release(error);
      };
      this.#onError = onError;
      client.on('error', onError);
      await client.query(`LISTEN "${this.#channel}"`);
      this.#client = client;
    } catch (error) {
      this.#logger.warn('Could not LISTEN, polling only', {
        channel: this.#channel,
        error: formatCause(error, 1),
      });
    }
  }

  /** Stops listening and gives the connection back to the pool. Idempotent. */
  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    await client.query('UNLISTEN *').catch(() => undefined);
    client.removeAllListeners('notification');
    if (this.#onError) client.removeListener('error', this.#onError);
    client.release();
  }
}

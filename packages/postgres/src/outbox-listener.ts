import type { Logger } from '@finaegis/core';
import { formatCause } from '@finaegis/core/adapter';
import type pg from 'pg';
import type { ResolvedConnection } from './connection';
import { outboxChannel } from './postgres-transaction-manager';

/**
 * @internal The listening half of the outbox relay: one pooled connection that `LISTEN`s for
 * commits that enqueued rows, so the relay sends at once instead of at its next poll. Losing it
 * only costs latency: the relay falls back to polling.
 */
export class OutboxListener {
  readonly #conn: ResolvedConnection;
  readonly #logger: Logger;
  readonly #onNotify: () => void;
  #client: pg.PoolClient | undefined;
  #onError: ((error: Error) => void) | undefined;

  constructor(conn: ResolvedConnection, logger: Logger, onNotify: () => void) {
    this.#conn = conn;
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
        this.#logger.warn('Outbox listener lost its connection', { error: error.message });
        client.removeListener('error', onError);
        if (this.#client === client) this.#client = undefined;
        client.release(error);
      };
      this.#onError = onError;
      client.on('error', onError);
      await client.query(`LISTEN "${outboxChannel(this.#conn.schema)}"`);
      this.#client = client;
    } catch (error) {
      this.#logger.warn('Outbox relay could not LISTEN, polling only', { error: formatCause(error, 1) });
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

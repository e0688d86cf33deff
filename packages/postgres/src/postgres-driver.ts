import type { Driver, DriverContext, Logger, Persistence, Relay, Transport } from '@finaegis/core';
import pg from 'pg';
import { migrate } from './migrate';
import { createOutboxRelay } from './outbox-relay';
import { createPostgresCheckpointStore } from './postgres-checkpoint-store';
import { createPostgresEventStore } from './postgres-event-store';
import { createPostgresTransactionManager } from './postgres-transaction-manager';

/** A relay on the shared pool; `flush` stops the loop and sends what is due until none is left. */
async function startRelay(
  connection: { pool: pg.Pool; schema: string },
  transport: Transport,
  logger: Logger,
): Promise<Relay> {
  const relay = createOutboxRelay({ ...connection, transport, logger });
  await relay.start();
  return {
    health: () => relay.health(),
    async flush(deadline) {
      // One sender at a time: the loop's round in flight ends first, then rounds run here.
      await relay.stop();
      let sent = 0;
      while (Date.now() < deadline) {
        const round = await relay.runOnce();
        if (round === 0) break;
        sent += round;
      }
      return sent;
    },
    stop: () => relay.stop(),
  };
}

/** Builds the PostgreSQL side of an app on one pool (see {@link postgresDriver}). */
async function postgresPersistence({ config }: DriverContext): Promise<Persistence> {
  const settings = config.adapters.postgres;
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: settings.poolSize });
  // An idle client losing its connection emits here; the next query reconnects.
  pool.on('error', () => {});
  const connection = { pool, schema: settings.schema };
  try {
    if (settings.migrate) await migrate(connection);
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  const eventStore = createPostgresEventStore(connection);
  const transactionManager = createPostgresTransactionManager(connection);
  const checkpointStore = createPostgresCheckpointStore(connection);
  let closing: Promise<void> | undefined;
  return {
    eventStore,
    transactionManager,
    checkpointStore,
    outbox: true,
    startRelay: (transport, logger) => startRelay(connection, transport, logger),
    close() {
      closing ??= (async () => {
        await Promise.allSettled([eventStore.close(), transactionManager.close(), checkpointStore.close()]);
        await pool.end();
      })();
      return closing;
    },
  };
}

/**
 * The driver `composeCqrs()` uses for `EVENT_STORE=postgres`: the event store, the transaction
 * manager (with its outbox) and the checkpoint store on one pool of `DATABASE_POOL_SIZE`
 * connections to `DATABASE_URL`, in `EVENT_STORE_SCHEMA`, migrated at start-up unless
 * `DATABASE_MIGRATE=false`, and an outbox relay for processes that run one (`OUTBOX_RELAY`).
 */
export const postgresDriver: Driver = {
  package: '@finaegis/postgres',
  persistence: { postgres: postgresPersistence },
};

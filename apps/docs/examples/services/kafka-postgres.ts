// Getting started, step three: the same exchange on Kafka (messages) and PostgreSQL (transactions,
// outbox, event store). Compiled by the docs build, not run there (it needs both services). Run it
// with `KAFKA_BROKERS=... DATABASE_URL=... npx tsx kafka-postgres.ts`.
// #region app
import { configFromEnv, createCqrs, currentTransaction } from '@finaegis/core';
import { createKafkaTransport } from '@finaegis/kafka';
import { createMemoryCacheStore } from '@finaegis/memory';
import { createOutboxRelay, createPostgresTransactionManager, migrate } from '@finaegis/postgres';
import pg from 'pg';
import { nextEvent, OrderPlaced, PlaceOrderCommand, registerExchange } from '../exchange';

const config = configFromEnv(); // KAFKA_BROKERS, DATABASE_URL, ...
const pool = new pg.Pool({ connectionString: config.databaseUrl });
await migrate({ pool, schema: 'getting_started' }); // idempotent: every process may call it

const transport = createKafkaTransport({
  brokers: [...config.kafkaBrokers],
  topicPrefix: 'getting-started.',
});
const app = createCqrs({
  config,
  transport,
  cache: createMemoryCacheStore(),
  // BEGIN ... COMMIT with a timeout, and an outbox in the same transaction.
  transactionManager: createPostgresTransactionManager({ pool, schema: 'getting_started' }),
});
registerExchange(app);

// The relay moves committed outbox rows to Kafka, in commit order per channel.
const relay = createOutboxRelay({ pool, schema: 'getting_started', transport });
await relay.start();
// #endregion app

// #region transaction
await app.startWorker({ group: 'workers', concurrency: 4 });
const handled = nextEvent(app, OrderPlaced);

await app.transaction(async () => {
  // Your own SQL runs on the transaction's client ...
  const client = currentTransaction()?.client as pg.PoolClient;
  await client.query('SELECT 1');
  // ... and this send is an outbox row of the same transaction: it leaves only if it commits.
  await app.commandBus.dispatchAsync(new PlaceOrderCommand('u-1', 'BTC/USD', '0.10'));
});
console.log(`a worker placed ${(await handled).orderId}`);

await relay.stop(); // before the transport it sends to
await app.close();
await pool.end(); // our pool: the adapters never end a pool they were given
// #endregion transaction

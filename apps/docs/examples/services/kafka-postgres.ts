// Getting started, step three: the same exchange on Kafka (messages) and PostgreSQL (transactions,
// outbox, event store), built from the environment. Compiled by the docs build, not run there (it
// needs both services). Run it with `KAFKA_BROKERS=... DATABASE_URL=... npx tsx kafka-postgres.ts`.
// #region app
import { composeCqrs, configFromEnv, currentTransaction } from '@finaegis/core';
import type pg from 'pg';
import { nextEvent, OrderPlaced, PlaceOrderCommand, registerExchange } from '../exchange';

// QUEUE_CONNECTION, EVENT_STORE, KAFKA_BROKERS, DATABASE_URL, EVENT_STORE_SCHEMA, ... from the
// environment, over this example's defaults.
const config = configFromEnv(process.env, {
  queueConnection: 'kafka', // @finaegis/kafka's driver
  eventStore: 'postgres', // @finaegis/postgres's driver: event store, transactions, outbox
  adapters: {
    kafka: { topicPrefix: 'getting-started.' },
    postgres: { schema: 'getting_started' },
  },
});
// One pool of DATABASE_POOL_SIZE connections; the schema migrated (DATABASE_MIGRATE) and an outbox
// relay started in this process (OUTBOX_RELAY), both on by default.
const app = await composeCqrs({ config });
registerExchange(app);
console.log(`outbox: ${app.outbox}`); // true: sends in a transaction are outbox rows
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

// Outside a transaction, app.dispatchAsync writes the row in a short transaction of its own: once
// it resolves the command is stored, whether or not Kafka is reachable right now.
const second = nextEvent(app, OrderPlaced);
await app.dispatchAsync(new PlaceOrderCommand('u-2', 'ETH/USD', '1.5'));
console.log(`a worker placed ${(await second).orderId}`);

// Stop the worker (in-flight handlers finish), flush the relay, close Kafka, then the pool.
const report = await app.shutdown({ reason: 'example done' });
console.log(report.steps.map((step) => `${step.step}: ${step.outcome}`).join('\n'));
// #endregion transaction

// The README's example, run against the test database in a schema of its own.
import { Command, createCqrs, silentLogger } from '@finaegis/core';
import { createMemoryTransport } from '@finaegis/memory';
import {
  createOutboxRelay,
  createPostgresEventStore,
  createPostgresTransactionManager,
  migrate,
} from '@finaegis/postgres';
import pg from 'pg';
import { expect, test } from 'vitest';
import { DATABASE_URL, testSchemaName, waitUntil } from './helpers';

test('README example', async () => {
  const schema = testSchemaName();
  // --- README ---
  class PlaceOrder extends Command<number> {
    static readonly messageType = 'exchange.PlaceOrder';
    constructor(readonly orderId: string) {
      super();
    }
  }
  class NotifyTrader extends Command<void> {
    static readonly messageType = 'exchange.NotifyTrader';
    constructor(readonly orderId: string) {
      super();
    }
  }

  const pool = new pg.Pool({ connectionString: DATABASE_URL });
  await migrate({ pool, schema }); // idempotent; or `finaegis-postgres migrate --schema finaegis`
  const store = createPostgresEventStore({ pool, schema });
  const transactionManager = createPostgresTransactionManager({ pool, schema });
  const transport = createMemoryTransport();
  const app = createCqrs({ transport, transactionManager, logger: silentLogger });
  const relay = createOutboxRelay({ pool, schema, transport }); // moves the outbox to the transport
  await relay.start();

  app.commandBus.register(PlaceOrder, async (command) => {
    const event = {
      eventId: command.messageId,
      type: 'exchange.OrderPlaced',
      data: {},
      metadata: {},
      occurredAt: Date.now(),
    };
    // Joins the running transaction: rolled back with it, visible only after its commit.
    const { version } = await store.append(`order-${command.orderId}`, [event], {
      expectedVersion: 'no_stream',
    });
    await app.commandBus.dispatchAsync(new NotifyTrader(command.orderId)); // an outbox row, same transaction
    return version;
  });
  const versions = await app.commandBus.dispatchTransaction([new PlaceOrder('o-1'), new PlaceOrder('o-2')], {
    timeout: 5, // seconds; enforced by PostgreSQL, rolled back with TransactionTimeoutError
  });
  // --- end ---
  expect(versions).toEqual([1, 1]);
  expect((await store.readAll()).map((e) => e.streamId)).toEqual(['order-o-1', 'order-o-2']);
  await waitUntil(async () => (await relay.pending()) === 0, 'the relay to send the outbox');
  const sent = await pool.query(`SELECT type FROM "${schema}".outbox WHERE sent_at IS NOT NULL ORDER BY id`);
  expect(sent.rows).toEqual([{ type: 'exchange.NotifyTrader' }, { type: 'exchange.NotifyTrader' }]);

  await relay.stop();
  await app.close();
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
});

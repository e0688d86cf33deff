// The README's example, run against the test database in a schema of its own.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  Command,
  createCqrs,
  DomainEvent,
  type EventInit,
  EventSerializer,
  MessageRegistry,
  Projection,
  Projector,
  silentLogger,
} from '@finaegis/core';
import { createMemoryTransport } from '@finaegis/memory';
import {
  createOutboxRelay,
  createPostgresEventStore,
  createPostgresTransactionManager,
  listenForAppends as listen,
  createPostgresCheckpointStore as makeCheckpoints,
  createPostgresProjectionLease as makeLease,
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

test('README projector example: one holder applies, woken by appends; the block is the README text', async () => {
  const schema = testSchemaName();
  const pool = new pg.Pool({ connectionString: DATABASE_URL });
  await migrate({ pool, schema });
  const store = createPostgresEventStore({ pool, schema });
  const registry = new MessageRegistry();
  class Deposited extends DomainEvent {
    static readonly messageType = 'bank.Deposited';
    constructor(
      readonly amount: string,
      init?: EventInit,
    ) {
      super(init);
    }
  }
  registry.register(Deposited);
  const applied: string[] = [];
  const balancesProjection = new Projection('balances').on(Deposited, (event) => {
    applied.push(event.amount);
  });
  const serializer = new EventSerializer(registry);
  // The README block passes only `pool` (the default schema); here each factory also gets this test's schema.
  const bound = { pool, schema };
  const createPostgresCheckpointStore = (o: { pool: pg.Pool }) => makeCheckpoints({ ...bound, ...o });
  const createPostgresProjectionLease = (o: { pool: pg.Pool }) => makeLease({ ...bound, ...o });
  const listenForAppends = (o: { pool: pg.Pool }, onAppend: () => void) =>
    listen({ ...bound, ...o }, onAppend);
  // --- README projector ---
  const projector = new Projector(balancesProjection, {
    store,
    checkpoints: createPostgresCheckpointStore({ pool }),
    registry,
    lease: createPostgresProjectionLease({ pool }), // only the holder applies events
    pollIntervalMs: 1000, // the fallback when a NOTIFY is lost
  });
  const subscription = await listenForAppends({ pool }, () => projector.wake());
  projector.start(); // in every process; one of them applies, the others wait to take over
  // --- end ---
  try {
    await store.append('acct-1', [serializer.serialize(new Deposited('10.00'))], { expectedVersion: 'any' });
    await waitUntil(async () => applied.length === 1, 'the projection to apply the deposit');
    expect(applied).toEqual(['10.00']);
    const source = readFileSync(import.meta.filename, 'utf8');
    const block = /\/\/ --- README projector ---\n([\s\S]*?)\n\s*\/\/ --- end ---/.exec(source)![1]!;
    const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
    expect(readme).toContain(block.replace(/^ {2}/gm, ''));
  } finally {
    await projector.stop();
    await subscription.close();
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await pool.end();
  }
});

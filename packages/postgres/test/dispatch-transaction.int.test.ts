import {
  Command,
  createCqrs,
  currentTransaction,
  DomainEvent,
  type EventInit,
  silentLogger,
  TransactionTimeoutError,
} from '@finaegis/core';
import {
  createOutboxRelay,
  createPostgresEventStore,
  createPostgresTransactionManager,
} from '@finaegis/postgres';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema, RecordingTransport } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
  await db.pool.query(
    `CREATE TABLE "${db.schema}".accounts (id text PRIMARY KEY, balance_cents bigint NOT NULL)`,
  );
});
afterAll(async () => {
  await db?.drop();
});
afterEach(async () => {
  await db.pool.query(`TRUNCATE "${db.schema}".accounts, "${db.schema}".outbox`);
});

class OpenAccount extends Command<string> {
  static readonly messageType = 'test.OpenAccount';
  constructor(
    readonly id: string,
    readonly cents: number,
  ) {
    super();
  }
}
class SendWelcome extends Command<void> {
  static readonly messageType = 'test.SendWelcome';
  constructor(readonly id: string) {
    super();
  }
}
class Explode extends Command<void> {
  static readonly messageType = 'test.Explode';
}
class Stall extends Command<void> {
  static readonly messageType = 'test.Stall';
}
class StallUntilTheDatabaseCancels extends Command<void> {
  static readonly messageType = 'test.StallUntilTheDatabaseCancels';
}
class AccountOpened extends DomainEvent {
  static readonly messageType = 'test.AccountOpened';
  constructor(
    init: EventInit,
    readonly cents: number,
  ) {
    super(init);
  }
}

function client(): pg.PoolClient {
  const tx = currentTransaction();
  if (tx === undefined) throw new Error('no transaction');
  return tx.client as pg.PoolClient;
}

function setup() {
  const transport = new RecordingTransport();
  const transactionManager = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
  const store = createPostgresEventStore({ pool: db.pool, schema: db.schema });
  const app = createCqrs({ transport, transactionManager, logger: silentLogger });
  app.commandBus.register(OpenAccount, async (command) => {
    await client().query(`INSERT INTO "${db.schema}".accounts (id, balance_cents) VALUES ($1, $2)`, [
      command.id,
      command.cents,
    ]);
    await store.append(
      `account-${command.id}`,
      [
        {
          eventId: command.messageId,
          type: 'test.AccountOpened',
          data: { cents: command.cents },
          metadata: {},
          occurredAt: Date.now(),
        },
      ],
      { expectedVersion: 'no_stream' },
    );
    await app.commandBus.dispatchAsync(new SendWelcome(command.id));
    await app.eventBus.publishAsync(new AccountOpened({ aggregateId: command.id }, command.cents));
    return command.id;
  });
  app.commandBus.register(Explode, async () => {
    throw new Error('exploded');
  });
  app.commandBus.register(Stall, async () => {
    await client().query('SELECT pg_sleep(30)');
  });
  // The database's statement timeout fires first here, so the handler fails with the pg error,
  // which the bus wraps in CommandExecutionError: the manager must still see a timeout.
  app.commandBus.register(StallUntilTheDatabaseCancels, async () => {
    await client().query('SET LOCAL statement_timeout = 50');
    await client().query('SELECT pg_sleep(30)');
  });
  const relay = createOutboxRelay({ pool: db.pool, schema: db.schema, transport, listen: false });
  return { app, transport, store, relay };
}

async function accounts(): Promise<string[]> {
  const { rows } = await db.pool.query<{ id: string }>(`SELECT id FROM "${db.schema}".accounts ORDER BY id`);
  return rows.map((r) => r.id);
}

describe('dispatchTransaction on PostgreSQL', () => {
  test('commits every command, and their async sends leave through the outbox after commit', async () => {
    const { app, transport, store, relay } = setup();
    const results = await app.commandBus.dispatchTransaction([
      new OpenAccount('a', 100),
      new OpenAccount('b', 250),
    ]);
    expect(results).toEqual(['a', 'b']);
    expect(await accounts()).toEqual(['a', 'b']);
    expect(await store.streamVersion('account-a')).toBe(1);
    // Nothing went straight to the transport: it is all in the outbox.
    expect(transport.sent).toEqual([]);
    expect(await relay.runOnce()).toBe(4);
    expect(transport.sent.map((s) => [s.channel, s.message.type])).toEqual([
      ['commands', 'test.SendWelcome'],
      ['events', 'test.AccountOpened'],
      ['commands', 'test.SendWelcome'],
      ['events', 'test.AccountOpened'],
    ]);
    await relay.stop();
    await app.close();
  });

  test('a failing command rolls back every command and nothing is sent', async () => {
    const { app, transport, store, relay } = setup();
    await expect(
      app.commandBus.dispatchTransaction([new OpenAccount('c', 1), new OpenAccount('d', 2), new Explode()]),
    ).rejects.toThrow(/exploded/);
    expect(await accounts()).toEqual([]);
    expect(await store.streamVersion('account-c')).toBe(0);
    expect(await relay.runOnce()).toBe(0);
    expect(await relay.pending()).toBe(0);
    expect(transport.sent).toEqual([]);
    await relay.stop();
    await app.close();
  });

  test('a timeout rolls back with TransactionTimeoutError', async () => {
    const { app, transport, relay } = setup();
    await expect(
      app.commandBus.dispatchTransaction([new OpenAccount('e', 5), new Stall()], { timeout: 0.3 }),
    ).rejects.toBeInstanceOf(TransactionTimeoutError);
    expect(await accounts()).toEqual([]);
    expect(await relay.runOnce()).toBe(0);
    expect(transport.sent).toEqual([]);
    await relay.stop();
    await app.close();
  });

  test('a statement cancelled by the database for time is a TransactionTimeoutError too, even wrapped by the bus', async () => {
    const { app, transport, relay } = setup();
    const error = await app.commandBus
      .dispatchTransaction([new OpenAccount('f', 5), new StallUntilTheDatabaseCancels()], { timeout: 20 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(((error as Error).cause as Error).name).toBe('CommandExecutionError');
    expect(await accounts()).toEqual([]);
    expect(await relay.runOnce()).toBe(0);
    expect(transport.sent).toEqual([]);
    await relay.stop();
    await app.close();
  });

  test('a nested dispatchTransaction that fails is undone alone; the caller catches and the outer commits', async () => {
    const { app, transport, store, relay } = setup();
    const published: string[] = [];
    app.eventBus.subscribe(AccountOpened, async (event) => void published.push(event.aggregateId));
    const announce = async (id: string) => app.eventBus.publish(new AccountOpened({ aggregateId: id }, 0));
    let nestedError: unknown;
    await app.commandBus.transaction(async () => {
      await app.commandBus.dispatch(new OpenAccount('outer-before', 1));
      await announce('outer-before');
      // OpenAccount appends to the event store and writes outbox rows (dispatchAsync, publishAsync).
      nestedError = await app.commandBus
        .dispatchTransaction([new OpenAccount('inner', 2), new Explode()])
        .catch((e: unknown) => e);
      await app.commandBus.dispatch(new OpenAccount('outer-after', 3));
      await announce('outer-after');
    });
    expect((nestedError as Error).message).toMatch(/exploded/);
    expect(await accounts()).toEqual(['outer-after', 'outer-before']);
    expect(await store.streamVersion('account-inner')).toBe(0);
    expect(await store.streamVersion('account-outer-before')).toBe(1);
    expect(await store.streamVersion('account-outer-after')).toBe(1);
    const { rows } = await db.pool.query<{ type: string; body: string }>(
      `SELECT type, body FROM "${db.schema}".outbox ORDER BY id`,
    );
    expect(rows.map((row) => row.type)).toEqual([
      'test.SendWelcome',
      'test.AccountOpened',
      'test.SendWelcome',
      'test.AccountOpened',
    ]);
    expect(rows.some((row) => row.body.includes('inner'))).toBe(false);
    expect(rows.filter((row) => row.body.includes('outer-before'))).toHaveLength(2);
    expect(rows.filter((row) => row.body.includes('outer-after'))).toHaveLength(2);
    expect(await relay.runOnce()).toBe(4);
    expect(transport.sent.some((s) => s.message.body.includes('inner'))).toBe(false);
    expect(published).toEqual(['outer-before', 'outer-after']);
    await relay.stop();
    await app.close();
  });
});

import { Command, createCqrs, currentTransaction, silentLogger, UnitOfWorkError } from '@finaegis/core';
import { createMemoryTransport } from '@finaegis/memory';
import { createPostgresInbox, createPostgresTransactionManager } from '@finaegis/postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema, waitUntil } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
  await db.pool.query(`CREATE TABLE "${db.schema}".effects (id text NOT NULL, n integer NOT NULL)`);
});
afterAll(async () => {
  await db?.drop();
});

const RUN = { timeoutMs: 10_000 };
const conn = () => ({ pool: db.pool, schema: db.schema });

class Deposit extends Command {
  static readonly messageType = 'inboxtest.Deposit';
  constructor(readonly id: string) {
    super();
  }
}

describe('PostgresInbox', () => {
  test('records a message id once per consumer; a rolled-back record does not count', async () => {
    const inbox = createPostgresInbox(conn());
    const manager = createPostgresTransactionManager(conn());
    expect(await manager.run(() => inbox.record('c1', 'm1'), RUN)).toBe(true);
    expect(await manager.run(() => inbox.record('c1', 'm1'), RUN)).toBe(false);
    expect(await manager.run(() => inbox.record('c2', 'm1'), RUN)).toBe(true);
    await manager
      .run(async () => {
        expect(await inbox.record('c1', 'm2')).toBe(true);
        throw new RangeError('the handler failed');
      }, RUN)
      .catch(() => undefined);
    expect(await inbox.has('c1', 'm2')).toBe(false);
    expect(await manager.run(() => inbox.record('c1', 'm2'), RUN)).toBe(true);
  });

  test('two transactions recording one id at once: the second waits and sees the first commit', async () => {
    const inbox = createPostgresInbox(conn());
    const manager = createPostgresTransactionManager(conn());
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const first = manager.run(async () => {
      const recorded = await inbox.record('c3', 'm1');
      await held;
      return recorded;
    }, RUN);
    await waitUntil(async () => {
      const { rows } = await db.pool.query(
        `SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relname = 'inbox' AND n.nspname = $1 AND l.mode = 'RowExclusiveLock'`,
        [db.schema],
      );
      return rows.length > 0;
    }, 'the first record to be in flight');
    const second = manager.run(() => inbox.record('c3', 'm1'), RUN);
    letGo();
    expect(await first).toBe(true);
    expect(await second).toBe(false);
  });

  test('outside a transaction it refuses with UnitOfWorkError; prune drops old records', async () => {
    const inbox = createPostgresInbox(conn());
    await expect(inbox.record('c4', 'm1')).rejects.toBeInstanceOf(UnitOfWorkError);
    const manager = createPostgresTransactionManager(conn());
    await manager.run(() => inbox.record('c4', 'm1'), RUN);
    expect(await inbox.prune(60_000)).toBe(0);
    expect(await inbox.prune(0)).toBeGreaterThanOrEqual(1);
    expect(await inbox.has('c4', 'm1')).toBe(false);
  });

  test('a worker with the inbox runs a handler once for a message delivered three times', async () => {
    const transport = createMemoryTransport();
    const app = createCqrs({
      logger: silentLogger,
      transport,
      transactionManager: createPostgresTransactionManager(conn()),
    });
    app.commandBus.register(Deposit, async (command) => {
      const client = currentTransaction()!.client as pg.PoolClient;
      await client.query(`INSERT INTO "${db.schema}".effects (id, n) VALUES ($1, 1)`, [command.id]);
    });
    const worker = await app.startWorker({ inbox: createPostgresInbox(conn()), concurrency: 3 });
    const ids: string[] = [];
    const sent: Promise<void>[] = [];
    for (let index = 0; index < 30; index++) {
      const command = new Deposit(`d${index}`);
      const body = app.registry.encode(command, 'command');
      const wire = { id: command.messageId, type: Deposit.messageType, body, headers: {} };
      ids.push(command.id);
      for (let copy = 0; copy < 3; copy++) sent.push(transport.send('commands', wire));
    }
    await Promise.all(sent);
    await waitUntil(
      async () => (await transport.depth('commands', { group: 'workers' })) === 0,
      'the backlog',
    );
    const { rows } = await db.pool.query<{ id: string; n: string }>(
      `SELECT id, count(*) AS n FROM "${db.schema}".effects GROUP BY id ORDER BY id`,
    );
    expect(rows).toHaveLength(30);
    expect(rows.every((row) => row.n === '1')).toBe(true);
    await worker.close();
    await app.close();
  });
});

import { newId, TransactionTimeoutError, UnitOfWorkError } from '@finaegis/core';
import {
  createPostgresCheckpointStore,
  createPostgresEventStore,
  createPostgresTransactionManager,
  currentPostgresTransaction,
  type PostgresTransactionManager,
} from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
  await db.pool.query(`CREATE TABLE "${db.schema}".notes (id text PRIMARY KEY)`);
});
afterAll(async () => {
  await db?.drop();
});

function manager(): PostgresTransactionManager {
  return createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
}

async function noteExists(id: string): Promise<boolean> {
  const { rowCount } = await db.pool.query(`SELECT 1 FROM "${db.schema}".notes WHERE id = $1`, [id]);
  return rowCount === 1;
}

const insertNote = (client: { query(text: string, values: unknown[]): Promise<unknown> }, id: string) =>
  client.query(`INSERT INTO "${db.schema}".notes (id) VALUES ($1)`, [id]);

// Commit, rollback, timeout, isolation, savepoints and the outbox order are checked by the contract
// suite (contract.test.ts); this file keeps what is particular to PostgreSQL.
describe('PostgresTransactionManager', () => {
  test('commits on success, on one client, invisible to others until commit', async () => {
    const m = manager();
    const id = newId();
    const result = await m.run(
      async (tx) => {
        await insertNote(tx.client, id);
        expect(await noteExists(id)).toBe(false);
        expect(currentPostgresTransaction()).toBe(tx);
        const { rows } = await tx.client.query<{ ok: boolean }>(
          'SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS ok',
        );
        expect(rows[0]!.ok).toBe(true);
        return 42;
      },
      { timeoutMs: 5_000 },
    );
    expect(result).toBe(42);
    expect(await noteExists(id)).toBe(true);
    expect(currentPostgresTransaction()).toBeUndefined();
  });

  test('a statement that outlives the timeout is cancelled, rolled back, TransactionTimeoutError', async () => {
    const m = manager();
    const id = newId();
    let signal: AbortSignal | undefined;
    const error = await m
      .run(
        async (tx) => {
          signal = tx.signal;
          await insertNote(tx.client, id);
          await tx.client.query(`SELECT pg_sleep(30) -- ${id}`);
        },
        { timeoutMs: 300 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect((error as TransactionTimeoutError).timeoutMs).toBe(300);
    expect(signal?.aborted).toBe(true);
    expect(await noteExists(id)).toBe(false);
    // The sleeping backend was stopped, not left running.
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE query = $1 AND state = 'active'`,
      [`SELECT pg_sleep(30) -- ${id}`],
    );
    expect(Number(rows[0]!.n)).toBe(0);
  });

  test('the database itself holds the budget: statement and idle-in-transaction timeouts are set', async () => {
    const m = manager();
    const error = await m
      .run(
        async (tx) => {
          const { rows } = await tx.client.query<{ t: string }>(
            "SELECT current_setting('statement_timeout') AS t",
          );
          expect(rows[0]!.t).toBe('400ms');
          const idle = await tx.client.query<{ t: string }>(
            "SELECT current_setting('idle_in_transaction_session_timeout') AS t",
          );
          expect(idle.rows[0]!.t).toBe('400ms');
          await tx.client.query('SELECT pg_sleep(10)');
        },
        { timeoutMs: 400 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
  });

  test('pooled clients are returned: many transactions in a row do not exhaust the pool', async () => {
    const m = manager();
    for (let i = 0; i < 50; i++) {
      await m.run(async (tx) => tx.client.query('SELECT 1'), { timeoutMs: 5_000 });
      await m.run(async () => Promise.reject(new Error('x')), { timeoutMs: 5_000 }).catch(() => undefined);
    }
    expect(db.pool.totalCount).toBeLessThanOrEqual(20);
    expect(db.pool.waitingCount).toBe(0);
  });

  test('work that throws synchronously still rolls back and frees the client', async () => {
    const m = manager();
    const idle = db.pool.idleCount + db.pool.totalCount;
    await expect(
      m.run(
        ((tx: { client: { query(text: string): Promise<unknown> } }) => {
          void tx.client.query(`INSERT INTO "${db.schema}".notes (id) VALUES ('sync-throw')`);
          throw new Error('sync');
        }) as never,
        { timeoutMs: 5_000 },
      ),
    ).rejects.toThrow('sync');
    expect(await noteExists('sync-throw')).toBe(false);
    expect(db.pool.idleCount + db.pool.totalCount).toBeLessThanOrEqual(idle + 1);
  });

  test('rejects a bad timeout with a typed error', async () => {
    await expect(manager().run(async () => 1, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
  });

  test('a work that catches a failed statement and resolves is reported, not taken for a commit', async () => {
    const id = newId();
    const error = await manager()
      .run(
        async (tx) => {
          await insertNote(tx.client, id);
          // A duplicate key aborts the transaction; PostgreSQL then answers COMMIT with ROLLBACK.
          await insertNote(tx.client, id).catch(() => undefined);
          return 'looks fine';
        },
        { timeoutMs: 5_000 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnitOfWorkError);
    expect((error as Error).message).toMatch(/rolled back, not committed/);
    expect(await noteExists(id)).toBe(false);
  });

  test('enqueue after the transaction ended is a typed error', async () => {
    const tx = await manager().run(async (tx) => tx, { timeoutMs: 5_000 });
    const message = { id: newId(), type: 'test.Late', body: '{}', headers: {} };
    await expect(tx.enqueue!('late', message)).rejects.toBeInstanceOf(UnitOfWorkError);
  });
});

describe('PostgresTransactionManager savepoints', () => {
  test('repositories of the package find the nested context; a failed savepoint undoes their writes and its outbox rows', async () => {
    const m = manager();
    const store = createPostgresEventStore({ pool: db.pool, schema: db.schema });
    const checkpoints = createPostgresCheckpointStore({ pool: db.pool, schema: db.schema });
    const stream = `nested-${newId()}`;
    const projection = `nested-${newId()}`;
    const event = () => ({
      eventId: newId(),
      type: 'test.Happened',
      data: {},
      metadata: {},
      occurredAt: Date.now(),
    });
    const outboxRows = async () =>
      (
        await db.pool.query(`SELECT message_id FROM "${db.schema}".outbox WHERE channel = $1`, [stream])
      ).rows.map((row: { message_id: string }) => row.message_id);
    await m.run(
      async (tx) => {
        await store.append(stream, [event()], { expectedVersion: 'no_stream' });
        await tx.enqueue!(stream, { id: 'outer-before', type: 'test.M', body: '{}', headers: {} });
        await tx
          .savepoint(async (nested) => {
            expect(currentPostgresTransaction()).toBe(nested);
            expect(nested.client).toBe(tx.client);
            await store.append(stream, [event(), event()], { expectedVersion: 1 });
            await checkpoints.save(projection, 3);
            await nested.enqueue!(stream, { id: 'nested', type: 'test.M', body: '{}', headers: {} });
            expect(await store.streamVersion(stream)).toBe(3);
            throw new Error('nested batch failed');
          })
          .catch(() => undefined);
        expect(currentPostgresTransaction()).toBe(tx);
        expect(await store.streamVersion(stream)).toBe(1);
        await store.append(stream, [event()], { expectedVersion: 1 });
        await tx.enqueue!(stream, { id: 'outer-after', type: 'test.M', body: '{}', headers: {} });
      },
      { timeoutMs: 5_000 },
    );
    expect((await store.readStream(stream)).map((e) => e.version)).toEqual([1, 2]);
    expect(await checkpoints.load(projection)).toBe(0);
    expect(await outboxRows()).toEqual(['outer-before', 'outer-after']);
  });

  test('a statement timeout inside a savepoint ends the outer transaction with TransactionTimeoutError, even when the work catches it', async () => {
    const id = newId();
    let nestedError: unknown;
    const error = await manager()
      .run(
        async (tx) => {
          await insertNote(tx.client, id);
          nestedError = await tx
            .savepoint(async (nested) => {
              await nested.client.query('SET LOCAL statement_timeout = 50');
              await nested.client.query('SELECT pg_sleep(5)');
            })
            .catch((e: unknown) => e);
          // The caller goes on as if the outer transaction were still usable.
          await insertNote(tx.client, newId()).catch(() => undefined);
        },
        { timeoutMs: 10_000 },
      )
      .catch((e: unknown) => e);
    expect(nestedError).toBeInstanceOf(TransactionTimeoutError);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(error).toBe(nestedError);
    expect(await noteExists(id)).toBe(false);
  });

  test('the outer timeout covers a savepoint: a nested statement past the budget ends the whole transaction', async () => {
    const id = newId();
    let signal: AbortSignal | undefined;
    const error = await manager()
      .run(
        async (tx) => {
          await insertNote(tx.client, id);
          await tx
            .savepoint(async (nested) => {
              signal = nested.signal;
              await nested.client.query('SELECT pg_sleep(30)');
            })
            .catch(() => undefined);
        },
        { timeoutMs: 300 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(signal?.aborted).toBe(true);
    expect(await noteExists(id)).toBe(false);
  });

  test('a savepoint asked for after the outer work caught a failed statement is refused, and so is the commit', async () => {
    const id = newId();
    let nestedError: unknown;
    const error = await manager()
      .run(
        async (tx) => {
          await insertNote(tx.client, id);
          await insertNote(tx.client, id).catch(() => undefined);
          nestedError = await tx.savepoint(async () => 'never runs').catch((e: unknown) => e);
        },
        { timeoutMs: 5_000 },
      )
      .catch((e: unknown) => e);
    expect(nestedError).toBeInstanceOf(UnitOfWorkError);
    expect(error).toBe(nestedError);
    expect(await noteExists(id)).toBe(false);
  });

  test('a nested work that catches a failed statement and resolves is undone and reported; the outer commits', async () => {
    const [outer, nested] = [newId(), newId()];
    let nestedError: unknown;
    await manager().run(
      async (tx) => {
        await insertNote(tx.client, outer);
        nestedError = await tx
          .savepoint(async (inner) => {
            await insertNote(inner.client, nested);
            await insertNote(inner.client, nested).catch(() => undefined);
          })
          .catch((e: unknown) => e);
      },
      { timeoutMs: 5_000 },
    );
    expect(nestedError).toBeInstanceOf(UnitOfWorkError);
    expect(await noteExists(outer)).toBe(true);
    expect(await noteExists(nested)).toBe(false);
  });
});

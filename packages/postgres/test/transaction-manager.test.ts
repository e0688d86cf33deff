import { newId, TransactionTimeoutError } from '@finaegis/core';
import { currentPostgresTransaction, PostgresTransactionManager } from '@finaegis/postgres';
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
  return new PostgresTransactionManager({ pool: db.pool, schema: db.schema });
}

async function noteExists(id: string): Promise<boolean> {
  const { rowCount } = await db.pool.query(`SELECT 1 FROM "${db.schema}".notes WHERE id = $1`, [id]);
  return rowCount === 1;
}

const insertNote = (client: { query(text: string, values: unknown[]): Promise<unknown> }, id: string) =>
  client.query(`INSERT INTO "${db.schema}".notes (id) VALUES ($1)`, [id]);

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

  test('rolls back and rethrows when the work fails', async () => {
    const m = manager();
    const id = newId();
    const failure = new Error('boom');
    await expect(
      m.run(
        async (tx) => {
          await insertNote(tx.client, id);
          throw failure;
        },
        { timeoutMs: 5_000 },
      ),
    ).rejects.toBe(failure);
    expect(await noteExists(id)).toBe(false);
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

  test('work stuck outside a statement times out, and its later writes never land', async () => {
    const m = manager();
    const id = newId();
    const late = newId();
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    let lateWrite: Promise<unknown> | undefined;
    const error = await m
      .run(
        async (tx) => {
          await insertNote(tx.client, id);
          await stuck;
          lateWrite = insertNote(tx.client, late);
          await lateWrite;
        },
        { timeoutMs: 300 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    release();
    await waitForSettled(() => lateWrite);
    await expect(lateWrite!).rejects.toThrow();
    expect(await noteExists(id)).toBe(false);
    expect(await noteExists(late)).toBe(false);
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
});

async function waitForSettled(get: () => Promise<unknown> | undefined): Promise<void> {
  for (let i = 0; i < 500 && get() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  await get()?.catch(() => undefined);
}

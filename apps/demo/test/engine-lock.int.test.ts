import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { MessageRegistry } from '@finaegis/core';
import { createPostgresEventStore, createPostgresTransactionManager, migrate } from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAmount } from '../src/decimal';
import { ExchangeEngine } from '../src/domain/engine';
import { DepositCommand } from '../src/domain/messages';

// The demo does not depend on pg itself; the test borrows the postgres adapter's copy to drop its schema.
const pg = createRequire(resolve(import.meta.dirname, '../../../packages/postgres/package.json'))('pg') as {
  Client: new (options: {
    connectionString: string;
  }) => {
    connect(): Promise<void>;
    query(sql: string): Promise<unknown>;
    end(): Promise<void>;
  };
};
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `demo_lock_${randomBytes(4).toString('hex')}`;
const connection = { connectionString: DATABASE_URL, schema };
const stores: ReturnType<typeof createPostgresEventStore>[] = [];

beforeAll(async () => {
  await migrate(connection);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

/** Engines as separate processes would hold them: each with its own store, pool and manager. */
function engines(count: number, stream: string, lock: boolean): ExchangeEngine[] {
  return Array.from({ length: count }, () => {
    const store = createPostgresEventStore(connection);
    stores.push(store);
    const manager = createPostgresTransactionManager(connection);
    return new ExchangeEngine({
      store,
      registry: new MessageRegistry(),
      streamId: stream,
      ...(lock
        ? { transaction: <T>(work: () => Promise<T>) => manager.run(() => work(), { timeoutMs: 30_000 }) }
        : {}),
    });
  });
}

async function depositFromAll(list: ExchangeEngine[], perEngine: number, stream: string): Promise<void> {
  await Promise.all(
    list.map(async (engine, e) => {
      for (let i = 0; i < perEngine; i += 1) {
        const command = new DepositCommand(`${stream}-${e}-${i}`, 'acct-alice', 'USD', '1');
        await engine.execute((exchange) => exchange.deposit(command, {}));
      }
    }),
  );
}

describe('ExchangeEngine on PostgreSQL, several processes on one stream', () => {
  it('with the stream lock, writers take turns: no conflict, every deposit stored once', async () => {
    const stream = `lock-${randomBytes(3).toString('hex')}`;
    const list = engines(4, stream, true);
    await depositFromAll(list, 25, stream);
    expect(list.map((engine) => engine.conflicts)).toEqual([0, 0, 0, 0]);
    const balances = await list[0]!.read((exchange) => exchange.balances('acct-alice'));
    expect(balances.balances.USD?.available).toBe(formatAmount(100n * 10n ** 8n));
  });

  it('without it, the same writers race and retry (what the lock removes)', async () => {
    const stream = `opt-${randomBytes(3).toString('hex')}`;
    const list = engines(4, stream, false);
    await depositFromAll(list, 25, stream);
    expect(list.reduce((sum, engine) => sum + engine.conflicts, 0)).toBeGreaterThan(0);
    const balances = await list[0]!.read((exchange) => exchange.balances('acct-alice'));
    expect(balances.balances.USD?.available).toBe(formatAmount(100n * 10n ** 8n));
  });

  it('decisions batched in one transaction: one that throws is answered alone, the others are stored', async () => {
    const stream = `batch-${randomBytes(3).toString('hex')}`;
    const [engine] = engines(1, stream, true);
    const deposit = (id: string) => new DepositCommand(`${stream}-${id}`, 'acct-bob', 'USD', '1');
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 5 }, (_, i) => engine!.execute((x) => x.deposit(deposit(`a${i}`), {}))),
      // Raises (and applies) an event, then fails: nothing of it may be stored or stay applied.
      engine!.execute((x) => {
        x.deposit(deposit('thrown'), {});
        throw new RangeError('refused after raising');
      }),
      ...Array.from({ length: 5 }, (_, i) => engine!.execute((x) => x.deposit(deposit(`b${i}`), {}))),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      ...Array.from({ length: 5 }, () => 'fulfilled'),
      'rejected',
      ...Array.from({ length: 5 }, () => 'fulfilled'),
    ]);
    expect((outcomes[5] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    const balances = await engine!.read((exchange) => exchange.balances('acct-bob'));
    expect(balances.balances.USD?.available).toBe(formatAmount(10n * 10n ** 8n));
    // A fresh engine rebuilt from the store agrees.
    const [fresh] = engines(1, stream, true);
    const rebuilt = await fresh!.read((exchange) => exchange.balances('acct-bob'));
    expect(rebuilt).toEqual(balances);
  });
});

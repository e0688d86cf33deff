// Push subscriptions: a projector woken by LISTEN/NOTIFY applies an append within milliseconds,
// though it polls only every 5 s. Measures append-to-applied latency, in a database of its own:
// readAll stops below the oldest running transaction of its database, and the other test files
// hold transactions open on purpose. Alone (low load) the p95 is about 10 ms, and `pnpm bench
// postgres` reports it; beside the other files on two cores it reached 150 ms, so what is asserted
// here is push rather than poll.
import { EventSerializer, Projection, Projector, silentLogger } from '@finaegis/core';
import {
  createPostgresCheckpointStore,
  createPostgresEventStore,
  createPostgresTransactionManager,
  listenForAppends,
  migrate,
} from '@finaegis/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Tick, tickRegistry } from './fixtures/tick';
import { DATABASE_URL, openPool, waitUntil } from './helpers';

const database = `finaegis_push_${Math.random().toString(36).slice(2, 8)}`;
let admin: pg.Pool;
let db: { pool: pg.Pool; schema: string };
beforeAll(async () => {
  admin = await openPool(2);
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 10 });
  pool.on('error', () => {});
  await migrate({ pool, schema: 'push' });
  db = { pool, schema: 'push' };
});
afterAll(async () => {
  await db?.pool.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin?.end();
});

describe('push subscriptions', () => {
  test('appends wake a projector through LISTEN/NOTIFY: applied within milliseconds, not at its 5 s poll', async () => {
    const store = createPostgresEventStore({ pool: db.pool, schema: db.schema });
    const manager = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    const latencies: number[] = [];
    const projector = new Projector(
      new Projection('push').on(Tick, (event) => {
        latencies.push(performance.now() + performance.timeOrigin - event.sentAt);
      }),
      {
        store,
        checkpoints: createPostgresCheckpointStore({ pool: db.pool, schema: db.schema }),
        registry: tickRegistry(),
        pollIntervalMs: 5_000,
        logger: silentLogger,
      },
    );
    const subscription = await listenForAppends({ pool: db.pool, schema: db.schema }, () => projector.wake());
    projector.start();
    const serializer = new EventSerializer(tickRegistry());
    const count = 100;
    for (let n = 0; n < count; n++) {
      const append = () =>
        store.append(
          `push-${n}`,
          [
            serializer.serialize(
              new Tick(n, performance.now() + performance.timeOrigin, { aggregateId: `${n}` }),
            ),
          ],
          { expectedVersion: 0 },
        );
      // Every fourth inside a transaction: the NOTIFY follows its commit.
      if (n % 4 === 0) await manager.run(append, { timeoutMs: 5_000 });
      else await append();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitUntil(() => latencies.length === count, 'every tick to be applied', 15_000);
    await projector.stop();
    await subscription.close();
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(count * 0.5)]!;
    const p95 = sorted[Math.floor(count * 0.95)]!;
    console.log(
      `[push latency] append to applied, ${count} appends 20 ms apart: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${sorted[count - 1]!.toFixed(1)} ms`,
    );
    expect(p50).toBeLessThan(100);
    expect(p95).toBeLessThan(1_000);
  }, 30_000);
});

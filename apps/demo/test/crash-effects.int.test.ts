// A worker killed between storing a decision and publishing its events (the fault hook
// DEMO_FAULT_KILL_AFTER_APPEND): the effects that must follow the stored events — the shared order
// book cache cleared, the exchange's figures counted — still happen, exactly once, driven from the
// committed stream by the projectors (src/figures.ts), whichever process holds their lease.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTransport } from '../src/app';
import { demoConfigFromEnv } from '../src/config/domain';
import { eventually, removeRedisPrefix } from './helpers';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const demoDir = resolve(import.meta.dirname, '..');
const id = randomBytes(4).toString('hex');
const schema = `demo_crash_${id}`;
const stream = `demo-crash-${id}`;
const env = {
  ...process.env,
  QUEUE_CONNECTION: 'bullmq',
  EVENT_STORE: 'postgres',
  CACHE_DRIVER: 'redis',
  REDIS_URL,
  DATABASE_URL,
  EVENT_STORE_SCHEMA: schema,
  EXCHANGE_STREAM: stream,
  // A cached book outlives the test unless something clears it.
  ORDER_BOOK_TTL: '3600',
  PORT: '0',
  LOG_LEVEL: 'warn',
  OTEL_SDK_DISABLED: 'true',
};
const children: ChildProcess[] = [];
const pg = createRequire(resolve(demoDir, '../../packages/postgres/package.json'))('pg') as {
  Client: new (options: {
    connectionString: string;
  }) => {
    connect(): Promise<void>;
    query<R>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
    end(): Promise<void>;
  };
};

function start(command: string, extra: Record<string, string>, ready: RegExp) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', command], {
    cwd: demoDir,
    env: { ...env, ...extra },
  });
  children.push(child);
  let output = '';
  const started = new Promise<RegExpExecArray>((done, fail) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match !== null) done(match);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => fail(new Error(`${command} exited (${code ?? signal}):\n${output}`)));
  });
  const exited = new Promise<string | null>((done) => child.on('exit', (_code, signal) => done(signal)));
  return { child, started, exited };
}

afterEach(async () => {
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    ),
  );
});

afterAll(async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
  await removeRedisPrefix(`${stream}-`);
});

describe('a worker SIGKILLed between append and publish (BullMQ, PostgreSQL, Redis cache)', () => {
  it('the book cache is still cleared and the order counted once, after the restart too', async () => {
    const api = start('api', {}, /listening on (http:\/\/\S+?)\/? /);
    const url = (await api.started)[1]!;
    const alice = { authorization: 'Bearer demo-alice', 'content-type': 'application/json' };
    const book = async () =>
      (await (await fetch(`${url}/orderbook/BTC/USD`)).json()) as { bids: { price: string }[] };
    const health = async () =>
      (await (await fetch(`${url}/health`)).json()) as {
        figures: { source: string; ordersPlaced: number; trades: number; lag: number };
      };
    // Cached now, for an hour.
    expect((await book()).bids).toEqual([]);

    const doomed = start('worker', { DEMO_FAULT_KILL_AFTER_APPEND: '1' }, /worker ready/);
    await doomed.started;
    const placed = await fetch(`${url}/orders?async=1`, {
      method: 'POST',
      headers: alice,
      body: JSON.stringify({ pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '0.5', price: '25000' }),
    });
    expect(placed.status).toBe(202);
    const { orderId } = (await placed.json()) as { orderId: string };
    // Its first stored decision (this order) kills it before any subscriber ran.
    expect(await doomed.exited).toBe('SIGKILL');

    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      const placedEvents = async () =>
        (
          await client.query<{ n: string }>(
            `SELECT count(*) AS n FROM "${schema}".events WHERE stream_id = $1 AND type = 'exchange.OrderPlaced' AND data->>'orderId' = $2`,
            [stream, orderId],
          )
        ).rows[0]!.n;
      expect(await placedEvents()).toBe('1');

      // No worker ran a subscriber for it, yet the shared cache is cleared and the order counted.
      await eventually(async () => ((await book()).bids.length === 1 ? true : undefined), 30_000);
      expect((await book()).bids[0]!.price).toBe('25000');
      await eventually(async () => ((await health()).figures.ordersPlaced === 1 ? true : undefined), 30_000);

      // A new worker gets the redelivered command: the order is there, nothing is placed or counted twice.
      const successor = start('worker', {}, /worker ready/);
      await successor.started;
      // The killed worker's job (its lock lapses after the default 6 s) is handed to the successor and
      // acknowledged.
      const transport = await createTransport(demoConfigFromEnv(env));
      try {
        await eventually(
          async () =>
            (await transport.depth('commands', { group: 'exchange-workers' })) === 0 ? true : undefined,
          30_000,
        );
      } finally {
        await transport.close();
      }
      expect(await placedEvents()).toBe('1');
      const figures = await eventually(async () => {
        const current = (await health()).figures;
        return current.lag === 0 ? current : undefined;
      });
      expect(figures).toMatchObject({ source: 'event-store', ordersPlaced: 1, trades: 0, lag: 0 });
    } finally {
      await client.end();
    }
  });
});

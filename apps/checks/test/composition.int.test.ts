// The published composition, as a user gets it: the packed packages and the libraries they need,
// installed with npm outside the workspace, build a working app from environment variables alone
// on BullMQ + Redis and on Kafka + PostgreSQL (the memory one is in packaging.test.ts), and a
// worker process stopped with SIGTERM in the middle of a load loses nothing.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { consumerEnv, installConsumer, removeConsumer, runScript } from './consumer';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const id = randomBytes(4).toString('hex');
const prefix = `checks-${id}`;
const schema = `checks_${id}`;

// The parts of the consumer's clients the clean-up uses.
interface RedisClient {
  scan(cursor: string, ...args: (string | number)[]): Promise<[string, string[]]>;
  unlink(...keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
}
interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}
interface KafkaAdmin {
  connect(): Promise<void>;
  listTopics(): Promise<string[]>;
  deleteTopics(options: { topics: string[] }): Promise<void>;
  disconnect(): Promise<void>;
}

let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = installConsumer(
    ['core', 'memory', 'bullmq', 'kafka', 'keyv', 'postgres'],
    ['bullmq', 'ioredis', 'kafkajs', 'keyv', '@keyv/redis', 'pg'],
  );
}, 300_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (dir === undefined) return;
  // The consumer's own copies of the clients remove what the tests made.
  const require = createRequire(join(dir, 'package.json'));
  const { Redis } = require('ioredis') as { Redis: new (url: string) => RedisClient };
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
  const pg = require('pg') as { Client: new (options: { connectionString: string }) => PgClient };
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
  const { Kafka } = require('kafkajs') as {
    Kafka: new (options: { brokers: string[]; logLevel: number }) => { admin(): KafkaAdmin };
  };
  const admin = new Kafka({ brokers: KAFKA_BROKERS.split(','), logLevel: 0 }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  await admin.disconnect();
  removeConsumer(dir);
});

const bullmqEnv = (name: string) => ({
  QUEUE_CONNECTION: 'bullmq',
  CACHE_DRIVER: 'redis',
  REDIS_URL,
  BULLMQ_PREFIX: `${prefix}-${name}`,
  CACHE_KEY_PREFIX: `${prefix}-${name}-cache:`,
});
const kafkaEnv = (name: string) => ({
  QUEUE_CONNECTION: 'kafka',
  KAFKA_BROKERS,
  KAFKA_TOPIC_PREFIX: `${prefix}-${name}.`,
  KAFKA_CLIENT_ID: `${prefix}-${name}`,
  KAFKA_SESSION_TIMEOUT_MS: '10000',
  KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
});

/**
 * Stderr without the one warning kafkajs 2.2.4 makes Node 24 print: its request queue arms a timer
 * at `throttledUntil - Date.now()` with `throttledUntil` still -1, and Node ≥ 23 warns about the
 * negative delay (it runs it after 1 ms, as older Nodes did silently). Anything else still fails.
 */
function withoutKafkajsTimeoutWarning(stderr: string): string {
  return stderr
    .replace(/\(node:\d+\) TimeoutNegativeWarning: -\d+ is a negative number\.\n/g, '')
    .replace(/Timeout duration was set to 1\.\n/g, '')
    .replace(/\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n/g, '');
}

describe('an app built from environment variables alone, installed from the packed packages', () => {
  test('on BullMQ + Redis: dispatches async, caches a query in Redis and handles an event', async () => {
    const result = await runScript(dir, 'app.mjs', consumerEnv(bullmqEnv('app')));
    expect(withoutKafkajsTimeoutWarning(result.stderr)).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({
      adapters: { transport: 'bullmq', cache: 'keyv', eventStore: 'memory' },
      outbox: false,
      dispatched: true,
      events: ['acct-1+250'],
      balances: ['250', '250'],
      queryRuns: 1,
      health: { status: 'up', ready: true },
      shutdown: { clean: true },
    });
    expect(result.code).toBe(0);
  });

  test('on Kafka + PostgreSQL: dispatches async through the outbox, caches a query and handles an event', async () => {
    const result = await runScript(
      dir,
      'app.mjs',
      consumerEnv({ ...kafkaEnv('app'), EVENT_STORE: 'postgres', DATABASE_URL, EVENT_STORE_SCHEMA: schema }),
    );
    expect(withoutKafkajsTimeoutWarning(result.stderr)).toBe('');
    const printed = JSON.parse(result.stdout);
    expect(printed).toMatchObject({
      adapters: {
        transport: 'kafka',
        cache: 'memory',
        eventStore: 'postgres',
        transactionManager: 'postgres',
      },
      outbox: true,
      dispatched: true,
      events: ['acct-1+250'],
      balances: ['250', '250'],
      queryRuns: 1,
      health: { status: 'up', ready: true, checks: ['up', 'up', 'up', 'up', 'up'] },
      shutdown: { clean: true },
    });
    expect(printed.shutdown.steps).toEqual([
      'stop consumers: done',
      'flush outbox: done',
      'stop relay: done',
      'close buses, transport and cache: done',
      'close event store: done',
    ]);
    expect(result.code).toBe(0);
  });
});

/** A consumer script running as a child process, with its output lines as they come. */
function start(script: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [script], { cwd: dir, env });
  children.push(child);
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const waitFor = async (check: () => boolean, what: string, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (child.exitCode !== null && !check())
        throw new RangeError(`${script} exited before ${what}:\n${stderr}`);
      if (Date.now() > deadline) throw new RangeError(`${script}: no ${what} in time:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, lines, exited, waitFor, stderr: () => stderr };
}

const indices = (lines: readonly string[], word: string) =>
  lines.filter((line) => line.startsWith(`${word} `)).map((line) => Number(line.slice(word.length + 1)));

describe.each([
  ['BullMQ', bullmqEnv('sigterm')],
  ['Kafka', kafkaEnv('sigterm')],
])('SIGTERM to a worker process during a load on %s', (_name, transportEnv) => {
  test('lets its handlers in flight finish, exits 0, and another worker handles every job left', async () => {
    const JOBS = 300;
    const env = consumerEnv({ ...transportEnv, JOB_MS: '30', JOBS: String(JOBS), SEND_GAP_MS: '5' });
    const first = start('worker.mjs', env);
    await first.waitFor(() => first.lines.includes('ready'), 'ready line');
    const sender = start('send.mjs', env);
    // Half the jobs wait in the queue and handlers are busy when the first worker is stopped; the
    // other half is sent while it shuts down.
    await sender.waitFor(() => sender.lines.includes('half sent'), 'first half sent');
    await first.waitFor(() => indices(first.lines, 'done').length >= 40, '40 jobs done');
    first.child.kill('SIGTERM');
    sender.child.stdin.write('continue\n');
    expect(await first.exited).toBe(0);
    expect(withoutKafkajsTimeoutWarning(first.stderr())).toBe('');
    // Every job the first worker started, it finished before it exited.
    const started = new Set(indices(first.lines, 'start'));
    const finished = new Set(indices(first.lines, 'done'));
    expect([...started].filter((index) => !finished.has(index))).toEqual([]);
    expect(first.lines.at(-1)).toBe('stopped');
    expect(finished.size).toBeLessThan(JOBS / 2);

    const second = start('worker.mjs', env);
    const handled = () => new Set([...finished, ...indices(second.lines, 'done')]);
    await second.waitFor(() => handled().size === JOBS, `all ${JOBS} jobs handled`);
    expect(await sender.exited).toBe(0);
    expect(sender.lines).toContain(`sent ${JOBS}`);
    expect([...handled()].sort((a, b) => a - b)).toEqual(Array.from({ length: JOBS }, (_, i) => i));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

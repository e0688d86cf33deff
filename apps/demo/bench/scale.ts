/**
 * How the demo scales with workers on PostgreSQL: one API (with the outbox relay) and 1, 2 and 4
 * worker processes share the exchange's stream while sync orders (answered by the API) and async
 * orders (decided by the workers) arrive at once. Run with the stream lock on (the default) and off
 * (optimistic retries only) in the same run, and printed side by side as ratios.
 *
 *   pnpm --filter finaegis-demo scale [--queue bullmq|kafka] [--sync N] [--async N] [--workers 1,2,4]
 *
 * Needs PostgreSQL and Redis (and Kafka for --queue kafka): `pnpm services:up`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type LoadResult, runLoad } from '../src/load';

const { values } = parseArgs({
  options: {
    queue: { type: 'string', default: 'bullmq' },
    sync: { type: 'string', default: '400' },
    async: { type: 'string', default: '800' },
    workers: { type: 'string', default: '1,2,4' },
  },
});
const QUEUE = values.queue!;
const SYNC = Number(values.sync);
const ASYNC = Number(values.async);
const WORKERS = values.workers!.split(',').map(Number);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const demoDir = resolve(import.meta.dirname, '..');
const pg = createRequire(resolve(demoDir, '../../packages/postgres/package.json'))('pg') as {
  Client: new (options: {
    connectionString: string;
  }) => {
    connect(): Promise<void>;
    query<R>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
    end(): Promise<void>;
  };
};

interface Row {
  readonly lock: boolean;
  readonly workers: number;
  readonly sync: LoadResult;
  readonly asyncSeconds: number;
  readonly decidedPerSecond: number;
}

function start(command: string, env: NodeJS.ProcessEnv, ready: RegExp, children: ChildProcess[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', command], { cwd: demoDir, env });
  children.push(child);
  let output = '';
  return new Promise<RegExpExecArray>((done, fail) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match !== null) done(match);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => fail(new Error(`${command} exited with ${code}:\n${output}`)));
  });
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    ),
  );
}

async function decided(client: InstanceType<typeof pg.Client>, schema: string, stream: string) {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM "${schema}".events WHERE stream_id = $1
       AND type IN ('exchange.OrderPlaced', 'exchange.OrderRejected')`,
    [stream],
  );
  return Number(rows[0]?.n ?? 0);
}

async function runOne(lock: boolean, workers: number, schema: string): Promise<Row> {
  const id = randomBytes(3).toString('hex');
  const stream = `scale-${lock ? 'lock' : 'opt'}-${workers}-${id}`;
  const env = {
    ...process.env,
    QUEUE_CONNECTION: QUEUE,
    EVENT_STORE: 'postgres',
    CACHE_DRIVER: 'redis',
    REDIS_URL,
    DATABASE_URL,
    KAFKA_BROKERS,
    EVENT_STORE_SCHEMA: schema,
    EXCHANGE_STREAM: stream,
    EXCHANGE_STREAM_LOCK: lock ? 'on' : 'off',
    WORKER_CONCURRENCY: '4',
    PORT: '0',
    LOG_LEVEL: 'error',
    OTEL_SDK_DISABLED: 'true',
  };
  const children: ChildProcess[] = [];
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const [, url] = await start('api', env, /listening on (http:\/\/\S+?)\/? /, children);
    await Promise.all(Array.from({ length: workers }, () => start('worker', env, /worker ready/, children)));
    const started = performance.now();
    const [sync, accepted] = await Promise.all([
      runLoad({ url: url!, orders: SYNC, concurrency: 8, async: false, pair: 'BTC/USD' }),
      runLoad({ url: url!, orders: ASYNC, concurrency: 8, async: true, pair: 'ETH/USD' }),
    ]);
    if (sync.failed > 0 || accepted.failed > 0) {
      throw new Error(
        `requests failed: sync ${JSON.stringify(sync.failures)}, async ${JSON.stringify(accepted.failures)}`,
      );
    }
    const deadline = Date.now() + 300_000;
    while ((await decided(client, schema, stream)) < SYNC + ASYNC) {
      if (Date.now() > deadline) throw new Error('async orders were not all decided within 300 s');
      await new Promise((done) => setTimeout(done, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    return { lock, workers, sync, asyncSeconds: seconds, decidedPerSecond: (SYNC + ASYNC) / seconds };
  } finally {
    await stopAll(children);
    await client.end();
  }
}

async function main(): Promise<void> {
  const schema = `demo_scale_${randomBytes(4).toString('hex')}`;
  process.stdout.write(
    `demo scale-out, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpus().length} cores; ` +
      `queue ${QUEUE}, PostgreSQL event store, Redis cache; per row: one API + N workers (concurrency 4), ` +
      `${SYNC} sync BTC/USD orders and ${ASYNC} async ETH/USD orders at once (8 clients each)\n\n`,
  );
  const rows: Row[] = [];
  try {
    for (const workers of WORKERS) {
      for (const lock of [true, false]) {
        const row = await runOne(lock, workers, schema);
        rows.push(row);
        process.stdout.write(
          `${lock ? 'lock      ' : 'optimistic'} workers ${workers}: sync p50 ${row.sync.p50.toFixed(0)} ms, p95 ${row.sync.p95.toFixed(0)} ms, ` +
            `p99 ${row.sync.p99.toFixed(0)} ms; all ${SYNC + ASYNC} decided in ${row.asyncSeconds.toFixed(1)} s ` +
            `(${row.decidedPerSecond.toFixed(0)} decisions/s)\n`,
        );
      }
    }
  } finally {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  process.stdout.write(
    '\nlock vs optimistic (ratios; sync p99 below 1 is better, decisions/s above 1 is better)\n',
  );
  for (const workers of WORKERS) {
    const on = rows.find((r) => r.lock && r.workers === workers)!;
    const off = rows.find((r) => !r.lock && r.workers === workers)!;
    process.stdout.write(
      `workers ${workers}: sync p99 ${(on.sync.p99 / off.sync.p99).toFixed(2)}×, decisions/s ${(on.decidedPerSecond / off.decidedPerSecond).toFixed(2)}×\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

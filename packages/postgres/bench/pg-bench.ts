// Benchmark (not a test): single-event appends per second with 1, 4, 16 and 64 concurrent writers
// on distinct streams, and stream read rate, for PostgresEventStore and, side by side in the same
// run and the same fresh database, Emmett's PostgreSQL event store (@event-driven-io/emmett-postgresql).
// Each round runs both contenders at every writer count (the order alternates between rounds); the
// table gives the median of the rounds and the median of the per-round ratios.
//
//   pnpm bench postgres                             (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test)
//   ROUNDS=5 APPENDS=4000 WRITERS=1,4,16,64 READS=20 pnpm bench postgres

import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import {
  DomainEvent,
  type EventInit,
  EventSerializer,
  MessageRegistry,
  newId,
  Projection,
  Projector,
  silentLogger,
} from '@finaegis/core';
import {
  createPostgresCheckpointStore,
  createPostgresEventStore,
  listenForAppends,
  migrate,
} from '@finaegis/postgres';
import pg from 'pg';

const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const WRITER_COUNTS = (process.env.WRITERS ?? '1,4,16,64').split(',').map(Number);
// Appends per measurement, shared among the writers (a single writer does them all).
const TOTAL_APPENDS = Number(process.env.APPENDS ?? 4000);
const READS_PER_READER = Number(process.env.READS ?? 20);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const READ_WRITERS = 16;

interface Subject {
  name: string;
  append(stream: string, version: number, n: number): Promise<void>;
  read(stream: string): Promise<number>;
  close(): Promise<void>;
}

async function ours(url: string, poolSize: number): Promise<Subject> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => {});
  await migrate({ pool, schema: 'finaegis' });
  const store = createPostgresEventStore({ pool, schema: 'finaegis' });
  return {
    name: '@finaegis/postgres',
    async append(stream, version, n) {
      await store.append(
        stream,
        [
          {
            eventId: newId(),
            type: 'bench.Happened',
            data: { n, amount: '12.34' },
            metadata: {},
            occurredAt: Date.now(),
          },
        ],
        { expectedVersion: version },
      );
    },
    async read(stream) {
      return (await store.readStream(stream)).length;
    },
    async close() {
      await store.close();
      await pool.end();
    },
  };
}

async function emmett(url: string, poolSize: number): Promise<Subject> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => {});
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pool } });
  await store.schema.migrate();
  return {
    name: '@event-driven-io/emmett-postgresql 0.42.0',
    async append(stream, version, n) {
      await store.appendToStream(stream, [{ type: 'bench.Happened', data: { n, amount: '12.34' } }], {
        expectedStreamVersion: BigInt(version),
      });
    },
    async read(stream) {
      return (await store.readStream(stream)).events.length;
    },
    async close() {
      await store.close();
      await pool.end();
    },
  };
}

interface Result {
  appendsPerSecond: number;
  eventsReadPerSecond: number;
  streamReadsPerSecond: number;
}

async function run(subject: Subject, writers: number, withReads: boolean): Promise<Result> {
  const appendsPerWriter = Math.ceil(TOTAL_APPENDS / writers);
  const streams = Array.from({ length: writers }, (_, i) => `bench-${i}-${newId()}`);
  // Warm-up: connections, plans, schema caches.
  await Promise.all(streams.map((stream) => subject.append(stream, 0, 0)));
  const appendStart = performance.now();
  await Promise.all(
    streams.map(async (stream) => {
      for (let i = 1; i <= appendsPerWriter; i++) await subject.append(stream, i, i);
    }),
  );
  const appendSeconds = (performance.now() - appendStart) / 1000;
  // Checked before any number is kept: every append landed.
  for (const stream of streams) {
    const read = await subject.read(stream);
    if (read !== appendsPerWriter + 1) {
      throw new Error(`${subject.name}: ${stream} holds ${read} events, expected ${appendsPerWriter + 1}`);
    }
  }
  let eventsRead = 0;
  let readSeconds = Number.NaN;
  if (withReads) {
    const readStart = performance.now();
    await Promise.all(
      streams.map(async (stream) => {
        for (let i = 0; i < READS_PER_READER; i++) eventsRead += await subject.read(stream);
      }),
    );
    readSeconds = (performance.now() - readStart) / 1000;
  }
  return {
    appendsPerSecond: (writers * appendsPerWriter) / appendSeconds,
    eventsReadPerSecond: eventsRead / readSeconds,
    streamReadsPerSecond: (writers * READS_PER_READER) / readSeconds,
  };
}

class Pinged extends DomainEvent {
  static readonly messageType = 'bench.Pinged';
  constructor(
    readonly sentAt: number,
    init?: EventInit,
  ) {
    super(init);
  }
}

/**
 * Push latency at low load: one append every 20 ms, a projector that polls only every 5 s and is
 * woken by LISTEN/NOTIFY; time from before the append to the handler, in ms.
 */
async function pushLatency(url: string, count: number): Promise<number[]> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  await migrate({ pool, schema: 'finaegis' });
  const registry = new MessageRegistry().register(Pinged);
  const store = createPostgresEventStore({ pool, schema: 'finaegis' });
  const now = () => performance.timeOrigin + performance.now();
  const latencies: number[] = [];
  const projector = new Projector(
    new Projection(`push-${newId()}`).on(Pinged, (event) => {
      latencies.push(now() - event.sentAt);
    }),
    {
      store,
      checkpoints: createPostgresCheckpointStore({ pool, schema: 'finaegis' }),
      registry,
      pollIntervalMs: 5_000,
      logger: silentLogger,
    },
  );
  await projector.catchUp();
  const subscription = await listenForAppends({ pool, schema: 'finaegis', logger: silentLogger }, () =>
    projector.wake(),
  );
  projector.start();
  const serializer = new EventSerializer(registry);
  for (let n = 0; n < count; n++) {
    await store.append(
      `ping-${newId()}`,
      [serializer.serialize(new Pinged(now(), { aggregateId: `${n}` }))],
      {
        expectedVersion: 0,
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const deadline = Date.now() + 10_000;
  while (latencies.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await projector.stop();
  await subscription.close();
  await pool.end();
  if (latencies.length !== count) throw new Error(`push latency: ${latencies.length} of ${count} applied`);
  return latencies;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  const database = `finaegis_bench_${Math.random().toString(36).slice(2, 8)}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(BASE_URL);
  url.pathname = `/${database}`;
  const makers = [ours, emmett];
  let names: string[] = [];
  // results[writers][contender] = one Result per round
  const results = new Map<number, Result[][]>(WRITER_COUNTS.map((w) => [w, [[], []]]));
  try {
    console.log(
      `PostgreSQL ${(await admin.query('SHOW server_version')).rows[0].server_version}; ${TOTAL_APPENDS} single-event appends per measurement shared by ${WRITER_COUNTS.join(' / ')} writers on distinct streams (pool = writers); ${ROUNDS} rounds, contender order alternating; stream reads: ${READ_WRITERS} readers × ${READS_PER_READER} full reads`,
    );
    // Warm-up, not recorded: the first contender to run on the fresh database paid for its cold
    // caches (round one's ratios were 0.4-0.6 whichever went first).
    for (const make of makers) {
      const subject = await make(url.toString(), READ_WRITERS);
      try {
        await run(subject, READ_WRITERS, false);
      } finally {
        await subject.close();
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const writers of WRITER_COUNTS) {
        const order = round % 2 === 0 ? [0, 1] : [1, 0];
        for (const index of order) {
          const subject = await makers[index]!(url.toString(), writers);
          try {
            names[index] = subject.name;
            results.get(writers)![index]!.push(await run(subject, writers, writers === READ_WRITERS));
          } finally {
            await subject.close();
          }
        }
      }
      console.error(`round ${round + 1}/${ROUNDS} done`);
    }
    names = names.map((n) => n.replace('@event-driven-io/', ''));
    console.log('');
    console.log(
      `| writers | ${names[0]} appends/s | ${names[1]} appends/s | ratio (median of rounds) | ratios per round |`,
    );
    console.log('|---:|---:|---:|---:|---|');
    for (const writers of WRITER_COUNTS) {
      const [a, b] = results.get(writers)!;
      const ratios = a!.map((r, i) => r.appendsPerSecond / b![i]!.appendsPerSecond);
      console.log(
        `| ${writers} | ${median(a!.map((r) => r.appendsPerSecond)).toFixed(0)} | ${median(b!.map((r) => r.appendsPerSecond)).toFixed(0)} | ${median(ratios).toFixed(2)}× | ${ratios.map((r) => r.toFixed(2)).join(', ')} |`,
      );
    }
    const reads = results.get(READ_WRITERS);
    if (reads !== undefined) {
      const [a, b] = reads;
      const ratios = a!.map((r, i) => r.streamReadsPerSecond / b![i]!.streamReadsPerSecond);
      console.log('');
      console.log(
        `stream reads/s (${READ_WRITERS} readers): ${names[0]} ${median(a!.map((r) => r.streamReadsPerSecond)).toFixed(0)}, ${names[1]} ${median(b!.map((r) => r.streamReadsPerSecond)).toFixed(0)}, ratio ${median(ratios).toFixed(2)}×`,
      );
    }
    const pings = Number(process.env.PINGS ?? 200);
    const latencies = (await pushLatency(url.toString(), pings)).sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]!;
    console.log(
      `push latency (append → projection applied, ${pings} appends 20 ms apart, projector polling every 5 s, woken by NOTIFY): p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${at(1).toFixed(1)} ms`,
    );
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

await main();

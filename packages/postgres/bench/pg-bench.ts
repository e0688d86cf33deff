// Benchmark (not a test): single-event appends per second with 16 concurrent writers on distinct
// streams, and stream read rate, for PostgresEventStore and, side by side in the same run and the
// same fresh database, Emmett's PostgreSQL event store (@event-driven-io/emmett-postgresql).
//
//   pnpm --filter @finaegis/postgres bench          (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test)
//   APPENDS=300 READS=20 pnpm --filter @finaegis/postgres bench

import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { newId } from '@finaegis/core';
import { createPostgresEventStore, migrate } from '@finaegis/postgres';
import pg from 'pg';

const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const WRITERS = 16;
const APPENDS_PER_WRITER = Number(process.env.APPENDS ?? 250);
const READS_PER_READER = Number(process.env.READS ?? 20);
const POOL_SIZE = 20;

interface Subject {
  name: string;
  append(stream: string, version: number, n: number): Promise<void>;
  read(stream: string): Promise<number>;
  close(): Promise<void>;
}

async function ours(url: string): Promise<Subject> {
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
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

async function emmett(url: string): Promise<Subject> {
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
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

async function run(subject: Subject): Promise<Result> {
  const streams = Array.from({ length: WRITERS }, (_, i) => `bench-${i}-${newId()}`);
  // Warm-up: connections, plans, schema caches.
  await Promise.all(streams.map((stream) => subject.append(stream, 0, 0)));
  const appendStart = performance.now();
  await Promise.all(
    streams.map(async (stream) => {
      for (let i = 1; i <= APPENDS_PER_WRITER; i++) await subject.append(stream, i, i);
    }),
  );
  const appendSeconds = (performance.now() - appendStart) / 1000;
  const readStart = performance.now();
  let eventsRead = 0;
  await Promise.all(
    streams.map(async (stream) => {
      for (let i = 0; i < READS_PER_READER; i++) {
        const read = await subject.read(stream);
        eventsRead += read;
      }
    }),
  );
  const readSeconds = (performance.now() - readStart) / 1000;
  if (eventsRead !== WRITERS * READS_PER_READER * (APPENDS_PER_WRITER + 1)) {
    throw new Error(`${subject.name}: read ${eventsRead} events, expected more`);
  }
  return {
    appendsPerSecond: (WRITERS * APPENDS_PER_WRITER) / appendSeconds,
    eventsReadPerSecond: eventsRead / readSeconds,
    streamReadsPerSecond: (WRITERS * READS_PER_READER) / readSeconds,
  };
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  const database = `finaegis_bench_${Math.random().toString(36).slice(2, 8)}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(BASE_URL);
  url.pathname = `/${database}`;
  try {
    console.log(
      `PostgreSQL ${(await admin.query('SHOW server_version')).rows[0].server_version}, ${WRITERS} writers × ${APPENDS_PER_WRITER} single-event appends on distinct streams, then ${WRITERS} readers × ${READS_PER_READER} full reads of their ${APPENDS_PER_WRITER + 1}-event stream; pool ${POOL_SIZE}`,
    );
    const results: [string, Result][] = [];
    for (const make of [ours, emmett]) {
      const subject = await make(url.toString());
      try {
        results.push([subject.name, await run(subject)]);
      } catch (error) {
        console.error(`${subject.name} failed:`, error);
        throw error;
      } finally {
        await subject.close();
      }
    }
    for (const [name, r] of results) {
      console.log(
        `${name.padEnd(42)} appends/s ${r.appendsPerSecond.toFixed(0).padStart(7)}   stream reads/s ${r.streamReadsPerSecond.toFixed(0).padStart(6)}   events read/s ${r.eventsReadPerSecond.toFixed(0).padStart(8)}`,
      );
    }
    const [a, b] = [results[0]![1], results[1]![1]];
    console.log(
      `ratio finaegis/emmett: appends ${(a.appendsPerSecond / b.appendsPerSecond).toFixed(2)}x, stream reads ${(a.streamReadsPerSecond / b.streamReadsPerSecond).toFixed(2)}x`,
    );
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

await main();

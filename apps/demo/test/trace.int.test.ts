// One HTTP request, one trace, across two processes: POST /orders?async=1 to the API process puts
// the command in the PostgreSQL outbox inside a transaction, the API's relay sends it to Kafka (or
// BullMQ), a worker process handles it and publishes the events it causes to their subscribers.
// Each process writes its finished spans as JSON lines (DEMO_SPANS_FILE); the test joins them.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventually, removeRedisPrefix } from './helpers';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KAFKA_BROKERS = process.env.KAFKA_BROKERS || '127.0.0.1:9092';
const demoDir = resolve(import.meta.dirname, '..');
const id = randomBytes(4).toString('hex');
const schema = `demo_trace_${id}`;
const spansDir = mkdtempSync(join(tmpdir(), 'finaegis-trace-'));
const children: ChildProcess[] = [];
// The demo depends on neither pg nor kafkajs; the test borrows the adapters' copies to clean up.
const pg = createRequire(resolve(demoDir, '../../packages/postgres/package.json'))('pg') as {
  Client: new (options: {
    connectionString: string;
  }) => {
    connect(): Promise<void>;
    query(sql: string): Promise<unknown>;
    end(): Promise<void>;
  };
};
const { Kafka, logLevel } = createRequire(resolve(demoDir, '../../packages/kafka/package.json'))(
  'kafkajs',
) as {
  Kafka: new (options: {
    brokers: string[];
    logLevel: number;
  }) => {
    admin(): {
      connect(): Promise<void>;
      listTopics(): Promise<string[]>;
      deleteTopics(options: { topics: string[] }): Promise<void>;
      disconnect(): Promise<void>;
    };
  };
  logLevel: { NOTHING: number };
};

interface SpanLine {
  service: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  links: Array<{ traceId: string; spanId: string }>;
  attributes: Record<string, unknown>;
  status: number;
}
const SERVER = 1;
const PRODUCER = 3;
const CONSUMER = 4;
const INTERNAL = 0;

function startProcess(command: string, env: Record<string, string | undefined>, ready: RegExp) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', command], { cwd: demoDir, env });
  children.push(child);
  let output = '';
  return new Promise<RegExpExecArray>((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match !== null) resolvePromise(match);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) =>
      reject(new Error(`${command} exited with ${code} before it was ready:\n${output}`)),
    );
  });
}

function spansIn(file: string): SpanLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as SpanLine);
}

afterEach(async () => {
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
});

afterAll(async () => {
  rmSync(spansDir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
  const admin = new Kafka({ brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(`demo-trace-kafka-${id}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

describe.each(['kafka', 'bullmq'])(
  'one trace across the API and a worker process (%s, PostgreSQL outbox)',
  (queue) => {
    it('POST /orders?async=1 → outbox → relay → broker → worker → events: every span under its parent', async () => {
      const stream = `demo-trace-${queue}-${id}`;
      const env = {
        ...process.env,
        QUEUE_CONNECTION: queue,
        EVENT_STORE: 'postgres',
        CACHE_DRIVER: 'memory',
        REDIS_URL,
        KAFKA_BROKERS,
        DATABASE_URL,
        EVENT_STORE_SCHEMA: schema,
        EXCHANGE_STREAM: stream,
        PORT: '0',
        LOG_LEVEL: 'warn',
      };
      const apiSpans = join(spansDir, `${queue}-api.jsonl`);
      const workerSpans = join(spansDir, `${queue}-worker.jsonl`);
      try {
        const [[, url]] = await Promise.all([
          startProcess('api', { ...env, DEMO_SPANS_FILE: apiSpans }, /listening on (http:\/\/\S+?)\/? /),
          startProcess('worker', { ...env, DEMO_SPANS_FILE: workerSpans }, /worker ready/),
        ]);

        // The caller's own trace: the request's SERVER span must be its child.
        const traceId = randomBytes(16).toString('hex');
        const callerSpanId = randomBytes(8).toString('hex');
        const correlationId = `trace-test-${queue}-${id}`;
        const response = await fetch(`${url}/orders?async=1`, {
          method: 'POST',
          headers: {
            authorization: 'Bearer demo-alice',
            'content-type': 'application/json',
            traceparent: `00-${traceId}-${callerSpanId}-01`,
            'x-correlation-id': correlationId,
          },
          body: JSON.stringify({
            pair: 'BTC/USD',
            side: 'buy',
            type: 'limit',
            amount: '0.1',
            price: '29000',
          }),
        });
        expect(response.status).toBe(202);

        const inTrace = () =>
          [...spansIn(apiSpans), ...spansIn(workerSpans)].filter((s) => s.traceId === traceId);
        const spans = await eventually(async () => {
          const found = inTrace();
          return found.some((s) => s.name === 'process commands') &&
            found.some((s) => s.name === 'finaegis.publish exchange.OrderPlaced')
            ? found
            : undefined;
        }, 60_000);
        const one = (name: string) => {
          const named = spans.filter((s) => s.name === name);
          expect(named, name).toHaveLength(1);
          return named[0]!;
        };

        const request = one('POST /orders');
        expect(request).toMatchObject({ kind: SERVER, parentSpanId: callerSpanId });
        expect(request.service).toBe('finaegis-demo-api');

        const send = one('send commands');
        expect(send).toMatchObject({
          kind: PRODUCER,
          parentSpanId: request.spanId,
          service: 'finaegis-demo-api',
        });
        expect(send.attributes).toMatchObject({
          'messaging.system': queue,
          'messaging.destination.name': 'commands',
          'finaegis.send.via': 'enqueue', // a row of the outbox, in the request's transaction
          'messaging.message.conversation_id': correlationId,
        });

        const processed = one('process commands');
        expect(processed).toMatchObject({
          kind: CONSUMER,
          parentSpanId: send.spanId,
          service: 'finaegis-demo-worker',
        });
        expect(processed.links[0]).toEqual({ traceId, spanId: send.spanId });
        expect(processed.attributes).toMatchObject({
          'messaging.system': queue,
          'messaging.operation.name': 'process',
          'messaging.destination.name': 'commands',
          'messaging.consumer.group.name': 'exchange-workers',
          'messaging.message.id': send.attributes['messaging.message.id'],
          'messaging.message.conversation_id': correlationId,
        });
        if (queue === 'kafka') expect(processed.attributes['messaging.kafka.message.key']).toBe('BTC/USD');

        const dispatch = one('finaegis.dispatch exchange.PlaceOrder');
        expect(dispatch).toMatchObject({ kind: INTERNAL, parentSpanId: processed.spanId });
        const published = one('finaegis.publish exchange.OrderPlaced');
        expect(published).toMatchObject({
          kind: INTERNAL,
          parentSpanId: dispatch.spanId,
          service: 'finaegis-demo-worker',
        });

        // One trace, nothing dangling: every parent is a recorded span of it, or the caller's span.
        const known = new Set([...spans.map((s) => s.spanId), callerSpanId]);
        for (const span of spans) expect(known.has(span.parentSpanId ?? callerSpanId), span.name).toBe(true);
        expect(new Set(spans.map((s) => s.service))).toEqual(
          new Set(['finaegis-demo-api', 'finaegis-demo-worker']),
        );

        // And the API process's metrics say the same, scraped as Prometheus would.
        const metrics = await (await fetch(`${url}/metrics`)).text();
        expect(metrics).toMatch(
          new RegExp(
            `messaging_client_sent_messages_total\\{messaging_system="${queue}",[^}]*messaging_destination_name="commands"[^}]*\\} 1`,
          ),
        );
      } finally {
        if (queue === 'bullmq') await removeRedisPrefix(`${stream}-bull`);
      }
    });
  },
);

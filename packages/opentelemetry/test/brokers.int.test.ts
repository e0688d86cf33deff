// The trace context on the real brokers: through BullMQ and Kafka, retries, the dead-letter place
// and a redrive, and through the PostgreSQL outbox and its relay. A producer app and a consumer app
// each have a transport of their own (as two processes would), recording into one in-memory SDK.
import { randomBytes } from 'node:crypto';
import { createBullmqTransport } from '@finaegis/bullmq';
import { type Cqrs, createCqrs, silentLogger, type Transport } from '@finaegis/core';
import { createKafkaTransport } from '@finaegis/kafka';
import { METRIC, observeQueueDepth, otelInstrumentation, SENT_AT_HEADER } from '@finaegis/opentelemetry';
import {
  createOutboxRelay,
  createPostgresTransactionManager,
  migrate,
  type OutboxRelay,
} from '@finaegis/postgres';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { FailingCommand, InsufficientFunds, OrderPlaced } from './domain';
import { byName, createTelemetry, parentOf, type Telemetry, total, until } from './support';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KAFKA_BROKERS = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const prefix = `fa-otel-${randomBytes(4).toString('hex')}`;
let pool: pg.Pool;
let schema: string;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8 });
  schema = `t_otel_${randomBytes(4).toString('hex')}`;
  await migrate({ pool, schema });
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
  const admin = new Kafka({ brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  const { groups } = await admin.listGroups();
  const ids = groups.map((group) => group.groupId).filter((id) => id.startsWith(prefix));
  if (ids.length > 0) await admin.deleteGroups(ids).catch(() => undefined);
  await admin.disconnect();
});

const transports: Record<'bullmq' | 'kafka', (scope: string) => Transport> = {
  bullmq: (scope) => createBullmqTransport({ url: REDIS_URL, prefix: `${prefix}-${scope}` }),
  kafka: (scope) =>
    createKafkaTransport({
      brokers: KAFKA_BROKERS,
      topicPrefix: `${prefix}-${scope}.`,
      partitions: 2,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      rebalanceTimeoutMs: 8_000,
    }),
};

let telemetry: Telemetry;
const apps: Cqrs[] = [];
const relays: OutboxRelay[] = [];
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.stop();
  for (const app of apps.splice(0).reverse()) await app.close();
  await telemetry.shutdown();
});

describe.each(['bullmq', 'kafka'] as const)('on %s', (system) => {
  function app(transport: Transport, extra: { outbox?: boolean } = {}): Cqrs {
    const cqrs = createCqrs({
      logger: silentLogger,
      transport,
      ...(extra.outbox ? { transactionManager: createPostgresTransactionManager({ pool, schema }) } : {}),
      instrumentation: otelInstrumentation({
        system,
        tracerProvider: telemetry.tracerProvider,
        meterProvider: telemetry.meterProvider,
      }),
    });
    apps.push(cqrs);
    return cqrs;
  }

  test('the trace context crosses the broker unchanged, through retries, the dead-letter place and a redrive', async () => {
    telemetry = createTelemetry();
    const scope = `${system}-retry-${randomBytes(3).toString('hex')}`;
    const producer = app(transports[system](scope));
    const consumerTransport = transports[system](scope);
    const consumer = app(consumerTransport);
    let calls = 0;
    let fail = true;
    consumer.registry.register(FailingCommand);
    consumer.commandBus.register(FailingCommand, (command) => {
      calls++;
      if (fail) throw new InsufficientFunds(command.reason);
    });
    await consumer.startWorker({
      channels: ['commands'],
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 50 } },
    });

    const root = telemetry.tracerProvider.getTracer('test').startSpan('POST /orders');
    await context.with(trace.setSpan(context.active(), root), () =>
      producer.commandBus.dispatchAsync(new FailingCommand('no funds'), { key: 'acct-1' }),
    );
    root.end();
    await until(
      async () => (await consumerTransport.deadLetters('commands', { group: 'workers' })).length === 1,
      30_000,
    );
    const [send] = byName(telemetry.finished(), 'send commands');
    const [dead] = await consumerTransport.deadLetters('commands', { group: 'workers' });
    expect(dead?.message.headers.traceparent).toBe(
      `00-${send!.spanContext().traceId}-${send!.spanContext().spanId}-01`,
    );
    expect(dead?.message.headers[SENT_AT_HEADER]).toMatch(/^\d+$/);

    fail = false;
    expect(await consumerTransport.redrive('commands', { group: 'workers' })).toBe(1);
    await until(() => calls === 3 && byName(telemetry.finished(), 'process commands').length === 3, 30_000);

    const processes = byName(telemetry.finished(), 'process commands');
    for (const span of processes) {
      expect(span.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(parentOf(span)).toBe(send!.spanContext().spanId);
      expect(span.links[0]?.context.spanId).toBe(send!.spanContext().spanId);
      expect(span.attributes).toMatchObject({
        'messaging.system': system,
        'messaging.destination.name': 'commands',
        'messaging.consumer.group.name': 'workers',
        'messaging.message.id': send!.attributes['messaging.message.id'],
      });
      if (system === 'kafka') expect(span.attributes['messaging.kafka.message.key']).toBe('acct-1');
    }
    expect(processes.map((span) => span.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
      SpanStatusCode.UNSET,
    ]);
    expect(processes.map((span) => span.attributes['finaegis.message.dead_lettered'])).toEqual([
      false,
      true,
      undefined,
    ]);
    const metrics = await telemetry.metrics();
    expect(total(metrics, METRIC.deadLettered, { 'messaging.system': system })).toBe(1);
    expect(
      total(metrics, METRIC.errors, {
        'finaegis.operation': 'consume',
        'error.type': 'CommandExecutionError',
      }),
    ).toBe(2);
  });

  test('the trace context goes through the PostgreSQL outbox and its relay', async () => {
    telemetry = createTelemetry();
    const scope = `${system}-outbox-${randomBytes(3).toString('hex')}`;
    const producerTransport = transports[system](scope);
    const producer = app(producerTransport, { outbox: true });
    const consumer = app(transports[system](scope));
    const handled: string[] = [];
    consumer.registry.register(OrderPlaced);
    consumer.eventBus.subscribe(OrderPlaced, (event) => {
      handled.push(event.orderId);
    });
    await consumer.startWorker({ channels: ['events'] });
    const relay = createOutboxRelay({ pool, schema, transport: producerTransport, pollIntervalMs: 50 });
    relays.push(relay);
    await relay.start();

    const root = telemetry.tracerProvider.getTracer('test').startSpan('POST /orders');
    await context.with(trace.setSpan(context.active(), root), () =>
      producer.transaction(() =>
        producer.eventBus.publishAsync(new OrderPlaced('o-1', { correlationId: 'c-1' })),
      ),
    );
    root.end();
    await until(
      () => handled.length === 1 && byName(telemetry.finished(), 'process events').length === 1,
      30_000,
    );

    const spans = telemetry.finished();
    const [send] = byName(spans, 'send events');
    const [processed] = byName(spans, 'process events');
    expect(send?.attributes['finaegis.send.via']).toBe('enqueue');
    expect(parentOf(send!)).toBe(root.spanContext().spanId);
    expect(processed?.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(parentOf(processed!)).toBe(send!.spanContext().spanId);
    expect(processed?.attributes['messaging.message.conversation_id']).toBe('c-1');
    const metrics = await telemetry.metrics();
    expect(
      total(metrics, METRIC.clientSentMessages, {
        'messaging.destination.name': 'events',
        'messaging.system': system,
      }),
    ).toBe(1);
  });

  test('queue depth equals what was sent while no consumer of the group runs', async () => {
    telemetry = createTelemetry();
    const scope = `${system}-depth-${randomBytes(3).toString('hex')}`;
    const transport = transports[system](scope);
    apps.push(createCqrs({ logger: silentLogger, transport }));
    // The group exists (it consumed once) and has no consumer now.
    const subscription = await transport.consume('orders', async () => undefined, { group: 'matcher' });
    await subscription.close();
    for (let i = 0; i < 4; i++)
      await transport.send('orders', { id: `m-${i}`, type: 'exchange.PlaceOrder', body: '{}', headers: {} });
    const depth = observeQueueDepth(transport, [{ channel: 'orders', group: 'matcher' }], {
      meterProvider: telemetry.meterProvider,
      intervalMs: 60_000,
    });
    try {
      await until(async () => {
        await depth.refresh();
        return total(await telemetry.metrics(), METRIC.queueDepth) === 4;
      }, 20_000);
      expect(
        total(await telemetry.metrics(), METRIC.queueDepth, {
          'messaging.system': system,
          'messaging.destination.name': 'orders',
          'messaging.consumer.group.name': 'matcher',
        }),
      ).toBe(4);
    } finally {
      depth.close();
    }
  });
});

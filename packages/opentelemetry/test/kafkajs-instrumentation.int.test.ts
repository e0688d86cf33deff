// Our instrumentation beside @opentelemetry/instrumentation-kafkajs: both on, one Kafka flow.
// What must hold: our request is still ONE trace (send → process → handling), none of our spans is
// doubled, no span points to a parent that was never recorded, and kafkajs' own spans (one layer
// down: record sends, polls, per-record processing on the prefixed topic) are tied to ours by links.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { type Cqrs, createCqrs, silentLogger } from '@finaegis/core';
import { createKafkaTransport } from '@finaegis/kafka';
import { otelInstrumentation } from '@finaegis/opentelemetry';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, expect, test } from 'vitest';
import { OrderPlaced, PlaceOrder } from './domain';
import { byName, createTelemetry, parentOf, until } from './support';

const KAFKA_BROKERS = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');
const prefix = `fa-otel-kjs-${randomBytes(4).toString('hex')}.`;
const telemetry = createTelemetry();

// Node loads kafkajs for an ES module without the require hook auto-instrumentation relies on, so
// the test applies the instrumentation's own patch to the loaded module (what `--require` setups do).
const kafkajsInstrumentation = new KafkaJsInstrumentation({ enabled: false });
kafkajsInstrumentation.setTracerProvider(telemetry.tracerProvider);
kafkajsInstrumentation.setMeterProvider(telemetry.meterProvider);
const kafkajsModule = createRequire(import.meta.url)('kafkajs') as object;
for (const definition of kafkajsInstrumentation.getModuleDefinitions())
  definition.patch?.(kafkajsModule, '2.2.4');

const apps: Cqrs[] = [];
afterAll(async () => {
  for (const app of apps.reverse()) await app.close();
  for (const definition of kafkajsInstrumentation.getModuleDefinitions())
    definition.unpatch?.(kafkajsModule, '2.2.4');
  await telemetry.shutdown();
  const admin = new Kafka({ brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  const { groups } = await admin.listGroups();
  const ids = groups.map((group) => group.groupId).filter((id) => id.startsWith(prefix));
  if (ids.length > 0) await admin.deleteGroups(ids).catch(() => undefined);
  await admin.disconnect();
});

function app(): Cqrs {
  const cqrs = createCqrs({
    logger: silentLogger,
    transport: createKafkaTransport({
      brokers: KAFKA_BROKERS,
      topicPrefix: prefix,
      partitions: 2,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      rebalanceTimeoutMs: 8_000,
    }),
    instrumentation: otelInstrumentation({
      system: 'kafka',
      tracerProvider: telemetry.tracerProvider,
      meterProvider: telemetry.meterProvider,
    }),
  });
  apps.push(cqrs);
  return cqrs;
}

test('with kafkajs auto-instrumentation on too, a request is still one trace, nothing doubled or dangling, kafkajs spans linked', async () => {
  const producer = app();
  const consumer = app();
  const handled: string[] = [];
  consumer.registry.register(PlaceOrder, OrderPlaced);
  consumer.commandBus.register(PlaceOrder, async (command) => {
    await consumer.eventBus.publishAsync(new OrderPlaced(command.orderId));
    return command.orderId;
  });
  consumer.eventBus.subscribe(OrderPlaced, (event) => {
    handled.push(event.orderId);
  });
  await consumer.startWorker();

  const root = telemetry.tracerProvider.getTracer('test').startSpan('POST /orders');
  await context.with(trace.setSpan(context.active(), root), () =>
    producer.commandBus.dispatchAsync(new PlaceOrder('o-1'), { key: 'o-1' }),
  );
  root.end();
  await until(
    () =>
      handled.length === 1 &&
      byName(telemetry.finished(), 'process commands').length === 1 &&
      byName(telemetry.finished(), 'process events').length === 1,
    30_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 300)); // kafkajs ends its batch spans a little later

  const spans = telemetry.finished();
  const traceId = root.spanContext().traceId;
  const ours = [
    'send commands',
    'process commands',
    'finaegis.dispatch exchange.PlaceOrder',
    'send events',
    'process events',
  ];
  for (const name of ours) {
    const named = byName(spans, name);
    expect(named, name).toHaveLength(1);
    expect(named[0]!.spanContext().traceId, name).toBe(traceId);
  }
  const [sendCommand] = byName(spans, 'send commands');
  const [processCommand] = byName(spans, 'process commands');
  const [dispatch] = byName(spans, 'finaegis.dispatch exchange.PlaceOrder');
  const [sendEvent] = byName(spans, 'send events');
  const [processEvent] = byName(spans, 'process events');
  expect(parentOf(sendCommand!)).toBe(root.spanContext().spanId);
  expect(parentOf(processCommand!)).toBe(sendCommand!.spanContext().spanId);
  expect(parentOf(dispatch!)).toBe(processCommand!.spanContext().spanId);
  expect(parentOf(sendEvent!)).toBe(dispatch!.spanContext().spanId);
  expect(parentOf(processEvent!)).toBe(sendEvent!.spanContext().spanId);
  // Our process span links its producer first; an ambient kafkajs span, if the handling ran in one, second.
  expect(processCommand!.links[0]?.context.spanId).toBe(sendCommand!.spanContext().spanId);

  // kafkajs' own spans are there, on the prefixed topic, so they cannot be mistaken for ours.
  const kafkajsSpans = spans.filter((span) => span.instrumentationScope.name.includes('kafkajs'));
  expect(
    kafkajsSpans.some((span) => span.kind === SpanKind.PRODUCER && span.name === `send ${prefix}commands`),
  ).toBe(true);
  expect(
    kafkajsSpans.some((span) => span.kind === SpanKind.CONSUMER && span.name === `process ${prefix}commands`),
  ).toBe(true);
  // The kafkajs record send happens inside our send span: it is our child, in our trace.
  const kafkajsSend = kafkajsSpans.find((span) => span.name === `send ${prefix}commands`)!;
  expect(kafkajsSend.spanContext().traceId).toBe(traceId);

  // kafkajs polls in a trace of its own; our process span ran inside its poll span and links it.
  const polls = kafkajsSpans.filter((span) => span.name === `poll ${prefix}commands`);
  expect(polls.map((poll) => poll.spanContext().spanId)).toContain(processCommand!.links[1]?.context.spanId);
  expect(polls.every((poll) => poll.spanContext().traceId !== traceId)).toBe(true);

  // Nothing dangles: every parent of a finished span is a finished span (or the request's root).
  const known = new Set(spans.map((span) => span.spanContext().spanId));
  known.add(root.spanContext().spanId);
  for (const span of spans) {
    const parent = parentOf(span);
    if (parent !== undefined) expect(known.has(parent), `${span.name} has a recorded parent`).toBe(true);
  }
});

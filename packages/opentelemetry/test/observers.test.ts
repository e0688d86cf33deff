import {
  MessageRegistry,
  Projection,
  Projector,
  type Transport,
  UnsupportedFeatureError,
} from '@finaegis/core';
import { createMemoryCheckpointStore, createMemoryEventStore, createMemoryTransport } from '@finaegis/memory';
import { METRIC, observeProjectionLag, observeQueueDepth } from '@finaegis/opentelemetry';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { OrderPlaced } from './domain';
import { createTelemetry, type Telemetry, total } from './support';

let telemetry: Telemetry;
beforeEach(() => {
  telemetry = createTelemetry();
});
afterEach(() => telemetry.shutdown());

const message = (id: string) => ({ id, type: 'exchange.PlaceOrder', body: '{}', headers: {} });

test('queue depth equals what was sent while no consumer runs, per channel and group, and follows the queue', async () => {
  const transport = createMemoryTransport();
  let handled = 0;
  // The group exists (it consumed once) but has no consumer now.
  const subscription = await transport.consume('orders', async () => undefined, { group: 'matcher' });
  await subscription.close();
  for (let i = 0; i < 3; i++) await transport.send('orders', message(`m-${i}`));
  const depth = observeQueueDepth(transport, [{ channel: 'orders', group: 'matcher' }], {
    meterProvider: telemetry.meterProvider,
    intervalMs: 60_000,
  });
  await depth.refresh();
  let metrics = await telemetry.metrics();
  expect(
    total(metrics, METRIC.queueDepth, {
      'messaging.system': 'memory',
      'messaging.destination.name': 'orders',
      'messaging.consumer.group.name': 'matcher',
    }),
  ).toBe(3);

  const worker = await transport.consume(
    'orders',
    async () => {
      handled++;
    },
    { group: 'matcher' },
  );
  while (handled < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  await worker.close();
  // A scrape alone does not ask the transport: the value moves only with a poll.
  metrics = await telemetry.metrics();
  expect(total(metrics, METRIC.queueDepth)).toBe(3);
  await depth.refresh();
  metrics = await telemetry.metrics();
  expect(total(metrics, METRIC.queueDepth)).toBe(0);
  depth.close();
  await transport.close();
});

test('queue depth polls at most once per interval, one queue at a time, however often it is scraped', async () => {
  const inner = createMemoryTransport();
  let calls = 0;
  let running = 0;
  let maxRunning = 0;
  const counting: Transport = Object.assign(Object.create(inner) as Transport, {
    async depth(channel: string, options?: { group?: string }) {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return inner.depth(channel, options);
    },
  });
  const depth = observeQueueDepth(
    counting,
    [
      { channel: 'a', group: 'g' },
      { channel: 'b', group: 'g' },
    ],
    { meterProvider: telemetry.meterProvider, intervalMs: 200 },
  );
  const started = Date.now();
  while (Date.now() - started < 450) {
    await telemetry.metrics();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  depth.close();
  // The first poll at start, then one at 200 and one at 400 ms: two queues each.
  expect(calls).toBeLessThanOrEqual(6);
  expect(calls).toBeGreaterThanOrEqual(4);
  expect(maxRunning).toBe(1);
  await inner.close();
});

test('queue depth refuses a transport without depth()', () => {
  const inner = createMemoryTransport();
  const without = Object.assign(Object.create(inner) as Transport, {
    features: { ...inner.features, depth: false },
  });
  expect(() => observeQueueDepth(without, [{ channel: 'a' }])).toThrow(UnsupportedFeatureError);
});

test('projection lag is the events not applied yet and the age of the oldest of them, 0 once caught up', async () => {
  const store = createMemoryEventStore();
  const checkpoints = createMemoryCheckpointStore();
  const registry = new MessageRegistry().register(OrderPlaced);
  const seen: string[] = [];
  const projector = new Projector(
    new Projection('order-list').on(OrderPlaced, (event) => {
      seen.push(event.orderId);
    }),
    { store, checkpoints, registry },
  );
  const clock = 1_000_000_000_000;
  const events = [0, 1, 2].map((i) => ({
    eventId: `e-${i}`,
    type: 'exchange.OrderPlaced',
    data: { orderId: `o-${i}` },
    metadata: {},
    occurredAt: clock - 30_000 + i * 1000,
  }));
  await store.append('Order-1', events, { expectedVersion: 'any' });
  const lag = observeProjectionLag([{ projector, store }], {
    meterProvider: telemetry.meterProvider,
    intervalMs: 60_000,
    now: () => clock,
  });
  await lag.refresh();
  let metrics = await telemetry.metrics();
  const projection = { 'finaegis.projection.name': 'order-list' };
  expect(total(metrics, METRIC.projectionLagPositions, projection)).toBe(3);
  expect(total(metrics, METRIC.projectionLag, projection)).toBe(30);

  await projector.catchUp();
  expect(seen).toHaveLength(3);
  await lag.refresh();
  metrics = await telemetry.metrics();
  expect(total(metrics, METRIC.projectionLagPositions, projection)).toBe(0);
  expect(total(metrics, METRIC.projectionLag, projection)).toBe(0);
  lag.close();
});

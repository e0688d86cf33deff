// The README's example (the block between the markers, character for character: the last test
// compares them), run against the global providers the way an application registers them.
// --- README example start ---
import { Command, createCqrs, DomainEvent } from '@finaegis/core';
import { createMemoryTransport } from '@finaegis/memory';
import { observeQueueDepth, otelInstrumentation } from '@finaegis/opentelemetry';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

// Your SDK, registered before the first message (NodeSDK does the same). In-memory exporters here;
// OTLP or Prometheus ones in production.
const spanExporter = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] }),
);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

class PlaceOrder extends Command<string> {
  static readonly messageType = 'exchange.PlaceOrder';
  constructor(readonly orderId: string) {
    super();
  }
}
class OrderPlaced extends DomainEvent {
  static readonly messageType = 'exchange.OrderPlaced';
  constructor(readonly orderId: string) {
    super({ aggregateId: orderId, aggregateType: 'Order' });
  }
}

const transport = createMemoryTransport();
const app = createCqrs({ transport, instrumentation: otelInstrumentation({ system: 'memory' }) });
const depth = observeQueueDepth(transport, [{ channel: 'events', group: 'workers' }], { intervalMs: 5_000 });
app.commandBus.register(PlaceOrder, async (command) => {
  await app.eventBus.publishAsync(new OrderPlaced(command.orderId)); // span "send events" (PRODUCER)
  return command.orderId;
});
app.eventBus.subscribe(OrderPlaced, () => undefined); // runs in span "process events" (CONSUMER)
await app.startWorker();

await app.commandBus.dispatchAsync(new PlaceOrder('o-1')); // span "send commands", traceparent in the headers

// --- README example end ---

import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

test('the README example makes one trace: send → process → dispatch → send → process', async () => {
  const deadline = Date.now() + 5_000;
  const names = () => spanExporter.getFinishedSpans().map((span) => span.name);
  while (!names().includes('process events') || !names().includes('process commands')) {
    if (Date.now() > deadline) throw new Error(`spans so far: ${names().join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const spans = spanExporter.getFinishedSpans();
  expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
  expect(names()).toEqual(
    expect.arrayContaining([
      'send commands',
      'process commands',
      'finaegis.dispatch exchange.PlaceOrder',
      'send events',
      'process events',
    ]),
  );
  await reader.forceFlush();
  const exported = metricExporter
    .getMetrics()
    .flatMap((resource) =>
      resource.scopeMetrics.flatMap((scope) => scope.metrics.map((m) => m.descriptor.name)),
    );
  expect(exported).toEqual(
    expect.arrayContaining([
      'messaging.process.duration',
      'messaging.client.operation.duration',
      'finaegis.queue.depth',
    ]),
  );
  depth.close();
  await app.close();
});

test('the README shows this example as it is here', () => {
  const source = readFileSync(new URL(import.meta.url), 'utf8');
  const example = source
    .split('// --- README example start ---\n')[1]!
    .split('// --- README example end ---')[0]!;
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  expect(readme).toContain(example.trim());
});

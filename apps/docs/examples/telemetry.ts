// Telemetry with @finaegis/opentelemetry on the memory adapters: an SDK with in-memory exporters,
// the instrumentation, and the spans one async command produces. Run by the docs build; it must
// print telemetry.output.txt.
// #region sdk
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

// Your SDK, registered before the app is built (NodeSDK does the same); OTLP or Prometheus
// exporters in production, in-memory ones here.
const spans = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
const reader = new PeriodicExportingMetricReader({
  exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
  exportIntervalMillis: 60_000,
});
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

// #endregion sdk

// #region app
import { createCqrs, silentLogger } from '@finaegis/core';
import { createMemoryTransport } from '@finaegis/memory';
import { observeQueueDepth, otelInstrumentation } from '@finaegis/opentelemetry';
import { nextEvent, OrderPlaced, PlaceOrderCommand, registerExchange } from './exchange';

const transport = createMemoryTransport();
const app = createCqrs({
  transport,
  logger: silentLogger,
  instrumentation: otelInstrumentation({ system: 'memory' }), // name the transport: kafka, bullmq, ...
});
registerExchange(app);
// The guide's "queue depth": polled every 5 s, one queue at a time, whatever the scrape rate.
const depth = observeQueueDepth(transport, [{ channel: 'commands', group: 'workers' }], {
  intervalMs: 5_000,
});

await app.startWorker();
const handled = nextEvent(app, OrderPlaced);
await app.commandBus.dispatchAsync(new PlaceOrderCommand('u-1', 'BTC/USD', '0.1')); // "send commands"
await handled; // the worker's "process commands" span is a child of the send, in the same trace
// #endregion app

depth.close();
await app.close();
const finished = spans.getFinishedSpans();
const traces = new Set(finished.map((s) => s.spanContext().traceId));
for (const name of [...new Set(finished.map((s) => s.name))].sort()) console.log(name);
console.log(`${traces.size} trace`);

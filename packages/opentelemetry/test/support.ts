import { context, type MeterProvider as MeterProviderApi, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

// One context manager and the W3C propagator for the whole test process, as an SDK would register.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

/** A reader whose `collect()` the test calls when it wants the numbers. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** An SDK of the test's own: in-memory spans, metrics on demand. */
export function createTelemetry() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const reader = new TestReader();
  const meterProvider: MeterProviderApi = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    finished: (): ReadableSpan[] => spans.getFinishedSpans(),
    reset: () => spans.reset(),
    async metrics(): Promise<MetricData[]> {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await (meterProvider as MeterProvider).shutdown();
    },
  };
}

export type Telemetry = ReturnType<typeof createTelemetry>;

/** The data points of one metric whose attributes include `match`. */
export function points(
  all: readonly MetricData[],
  name: string,
  match: Record<string, unknown> = {},
): DataPoint<unknown>[] {
  const metric = all.find((m) => m.descriptor.name === name);
  if (metric === undefined) return [];
  return (metric.dataPoints as DataPoint<unknown>[]).filter((point) =>
    Object.entries(match).every(([key, value]) => point.attributes[key] === value),
  );
}

/** Sum of a counter (or gauge) over the points matching `match`. */
export function total(all: readonly MetricData[], name: string, match: Record<string, unknown> = {}): number {
  return points(all, name, match).reduce((sum, point) => sum + (point.value as number), 0);
}

/** The histogram points matching `match`, merged: count, sum, min. */
export function histogram(all: readonly MetricData[], name: string, match: Record<string, unknown> = {}) {
  const matching = points(all, name, match).map((point) => point.value as Histogram);
  return {
    count: matching.reduce((sum, h) => sum + h.count, 0),
    sum: matching.reduce((sum, h) => sum + (h.sum ?? 0), 0),
    min: Math.min(...matching.map((h) => h.min ?? Number.POSITIVE_INFINITY)),
  };
}

/** Spans by name, for readable assertions. */
export function byName(spans: readonly ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((span) => span.name === name);
}

export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

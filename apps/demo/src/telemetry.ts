// Telemetry of a demo process: the OpenTelemetry SDK (traces and metrics), `@finaegis/opentelemetry`
// for the buses, Prometheus text for GET /metrics, OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and
// the guide's five metrics for the page's panel.
import { appendFileSync } from 'node:fs';
import type { Instrumentation, Transport } from '@finaegis/core';
import { METRIC, type Observation, observeQueueDepth, otelInstrumentation } from '@finaegis/opentelemetry';
import {
  context,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  DataPointType,
  type Histogram,
  MeterProvider,
  type MetricData,
  type MetricReader,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The guide's five metrics, as the page's panel shows them (this process's figures since start). */
export interface MetricsPanel {
  /** Command handling time (in-process dispatch and worker handling), seconds. */
  readonly commandSeconds: {
    readonly count: number;
    readonly p50: number | null;
    readonly p95: number | null;
  };
  /** `hits / (hits + misses + coalesced)` of askCached; null before the first call. */
  readonly cacheHitRate: number | null;
  readonly cacheCalls: { readonly hit: number; readonly miss: number; readonly coalesced: number };
  /** From an event's occurrence to the end of its handling by a worker of this process, seconds. */
  readonly eventLagSeconds: {
    readonly count: number;
    readonly p50: number | null;
    readonly p95: number | null;
  };
  /** From an async message's send (commands included) to the end of its handling here, seconds. */
  readonly messageLagSeconds: {
    readonly count: number;
    readonly p50: number | null;
    readonly p95: number | null;
  };
  /** Messages waiting per channel (for the workers' group), polled every few seconds. */
  readonly queueDepth: Readonly<Record<string, number>>;
  /** Failed operations over all operations; null before the first. */
  readonly errorRate: number | null;
  readonly errors: number;
  readonly deadLettered: number;
}

export interface Telemetry {
  /** False with OTEL_SDK_DISABLED=true: no SDK, no hooks, no /metrics. */
  readonly enabled: boolean;
  /** Hooks for `createCqrs({ instrumentation })`; `system` names the transport. */
  instrumentation(system: string): Instrumentation | undefined;
  /** Reports `finaegis.queue.depth` of the workers' group on both channels. */
  observeQueues(transport: Transport, channels: readonly string[], group: string): void;
  /** This process's metrics in the Prometheus text format (version 0.0.4). */
  prometheus(): Promise<string>;
  panel(): Promise<MetricsPanel>;
  /** Flushes and stops the exporters. */
  shutdown(): Promise<void>;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Writes each finished span as one JSON line to a file (DEMO_SPANS_FILE: the trace tests read it). */
class JsonLinesSpanExporter implements SpanExporter {
  constructor(
    private readonly file: string,
    private readonly service: string,
  ) {}
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    const lines = spans.map((span) =>
      JSON.stringify({
        service: this.service,
        name: span.name,
        kind: span.kind,
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanContext?.spanId,
        links: span.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId })),
        attributes: span.attributes,
        status: span.status.code,
      }),
    );
    appendFileSync(this.file, `${lines.join('\n')}\n`);
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

/** A quantile read off a histogram's buckets (linear within the bucket, as Prometheus does). */
function quantile(histogram: Histogram, q: number): number | null {
  if (histogram.count === 0) return null;
  const { boundaries, counts } = histogram.buckets;
  const rank = q * histogram.count;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i]!;
    if (seen + inBucket >= rank && inBucket > 0) {
      const lower = i === 0 ? Math.min(0, histogram.min ?? 0) : boundaries[i - 1]!;
      const upper = i < boundaries.length ? boundaries[i]! : (histogram.max ?? lower);
      return lower + (upper - lower) * ((rank - seen) / inBucket);
    }
    seen += inBucket;
  }
  return histogram.max ?? null;
}

function merged(all: readonly MetricData[], name: string): Histogram | undefined {
  const metric = all.find((m) => m.descriptor.name === name);
  if (metric === undefined || metric.dataPointType !== DataPointType.HISTOGRAM) return undefined;
  let result: Histogram | undefined;
  for (const point of metric.dataPoints) {
    const value = point.value;
    if (result === undefined) {
      result = {
        ...value,
        buckets: { boundaries: value.buckets.boundaries, counts: [...value.buckets.counts] },
      };
      continue;
    }
    result.count += value.count;
    result.sum = (result.sum ?? 0) + (value.sum ?? 0);
    result.min = Math.min(result.min ?? Number.POSITIVE_INFINITY, value.min ?? Number.POSITIVE_INFINITY);
    result.max = Math.max(result.max ?? 0, value.max ?? 0);
    value.buckets.counts.forEach((count, i) => {
      result!.buckets.counts[i] = (result!.buckets.counts[i] ?? 0) + count;
    });
  }
  return result;
}

function summary(histogram: Histogram | undefined) {
  if (histogram === undefined) return { count: 0, p50: null, p95: null };
  return { count: histogram.count, p50: quantile(histogram, 0.5), p95: quantile(histogram, 0.95) };
}

function sum(all: readonly MetricData[], name: string, match: Record<string, string> = {}): number {
  const metric = all.find((m) => m.descriptor.name === name);
  if (metric === undefined) return 0;
  let total = 0;
  for (const point of metric.dataPoints as Array<{ attributes: Record<string, unknown>; value: unknown }>) {
    if (!Object.entries(match).every(([key, value]) => point.attributes[key] === value)) continue;
    total += typeof point.value === 'number' ? point.value : (point.value as Histogram).count;
  }
  return total;
}

/**
 * Starts telemetry for one process of the demo, from the standard OpenTelemetry variables:
 * OTEL_SDK_DISABLED, OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT (OTLP over HTTP for traces and
 * metrics), plus DEMO_SPANS_FILE (finished spans as JSON lines, for the trace tests).
 */
export function startTelemetry(env: NodeJS.ProcessEnv, role: string): Telemetry {
  const disabled = (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true';
  if (disabled) {
    return {
      enabled: false,
      instrumentation: () => undefined,
      observeQueues: () => undefined,
      prometheus: async () => '# telemetry is off (OTEL_SDK_DISABLED=true)\n',
      panel: async () => {
        throw new Error('telemetry is off (OTEL_SDK_DISABLED=true)');
      },
      shutdown: async () => undefined,
    };
  }
  const service = env.OTEL_SERVICE_NAME?.trim() || `finaegis-demo-${role}`;
  const resource = resourceFromAttributes({ 'service.name': service });
  const otlp = (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim() !== '';

  const spanProcessors: SpanProcessor[] = [];
  if (otlp) spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  if (env.DEMO_SPANS_FILE)
    spanProcessors.push(new SimpleSpanProcessor(new JsonLinesSpanExporter(env.DEMO_SPANS_FILE, service)));
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors });

  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const readers: MetricReader[] = [prometheus];
  if (otlp) {
    // The standard variable (the reader itself reads no environment): default 60 s.
    const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL ?? '60000');
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter(),
        exportIntervalMillis: Number.isFinite(interval) && interval > 0 ? interval : 60_000,
        exportTimeoutMillis: Math.min(30_000, Number.isFinite(interval) && interval > 0 ? interval : 30_000),
      }),
    );
  }
  const meterProvider = new MeterProvider({ resource, readers });

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);

  const serializer = new PrometheusSerializer();
  const observations: Observation[] = [];
  return {
    enabled: true,
    instrumentation: (system) => otelInstrumentation({ system, tracerProvider, meterProvider }),
    observeQueues(transport, channels, group) {
      if (!transport.features.depth) return;
      observations.push(
        observeQueueDepth(
          transport,
          channels.map((channel) => ({ channel, group })),
          { meterProvider, intervalMs: 2_000 },
        ),
      );
    },
    async prometheus() {
      const { resourceMetrics } = await prometheus.collect();
      return serializer.serialize(resourceMetrics);
    },
    async panel() {
      const { resourceMetrics } = await prometheus.collect();
      const all = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
      const hit = sum(all, METRIC.cacheCalls, { 'finaegis.cache.result': 'hit' });
      const miss = sum(all, METRIC.cacheCalls, { 'finaegis.cache.result': 'miss' });
      const coalesced = sum(all, METRIC.cacheCalls, { 'finaegis.cache.result': 'coalesced' });
      const operations =
        sum(all, METRIC.commandDuration) +
        sum(all, METRIC.queryDuration) +
        sum(all, METRIC.eventDuration) +
        sum(all, METRIC.processDuration) +
        sum(all, METRIC.clientOperationDuration);
      const errors = sum(all, METRIC.errors);
      const depth: Record<string, number> = {};
      const gauge = all.find((m) => m.descriptor.name === METRIC.queueDepth);
      for (const point of gauge?.dataPoints ?? []) {
        const channel = String(point.attributes['messaging.destination.name']);
        depth[channel] = (depth[channel] ?? 0) + (point.value as number);
      }
      return {
        commandSeconds: summary(merged(all, METRIC.commandDuration)),
        cacheHitRate: hit + miss + coalesced === 0 ? null : hit / (hit + miss + coalesced),
        cacheCalls: { hit, miss, coalesced },
        eventLagSeconds: summary(merged(all, METRIC.eventLag)),
        messageLagSeconds: summary(merged(all, METRIC.messageLag)),
        queueDepth: depth,
        errorRate: operations === 0 ? null : errors / operations,
        errors,
        deadLettered: sum(all, METRIC.deadLettered),
      };
    },
    async shutdown() {
      for (const observation of observations) observation.close();
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

const requestSpans = new WeakMap<FastifyRequest, Span>();

/**
 * A SERVER span for each request (a child of an incoming `traceparent`), active while its route
 * handler runs, so that the commands a request dispatches are in its trace. The scrapes of
 * `/metrics` are left out. Call before the routes are added.
 */
export function traceRequests(server: FastifyInstance): void {
  const tracer = trace.getTracer('finaegis-demo');
  const traced = (request: FastifyRequest) => !request.url.startsWith('/metrics');
  server.addHook('onRequest', (request, _reply, done) => {
    if (traced(request)) {
      const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '/';
      const span = tracer.startSpan(
        `${request.method} ${route}`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': request.method, 'http.route': route },
        },
        propagation.extract(ROOT_CONTEXT, request.headers),
      );
      requestSpans.set(request, span);
    }
    done();
  });
  server.addHook('onResponse', (request, reply, done) => {
    const span = requestSpans.get(request);
    if (span !== undefined) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
  // The body is read between onRequest and the handler, outside any context the hook could set:
  // each handler enters its request's span itself.
  server.addHook('onRoute', (route) => {
    const handler = route.handler as (
      this: FastifyInstance,
      request: FastifyRequest,
      reply: FastifyReply,
    ) => unknown;
    route.handler = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const span = requestSpans.get(request);
      if (span === undefined) return handler.call(this, request, reply);
      return context.with(trace.setSpan(context.active(), span), () => handler.call(this, request, reply));
    } as typeof route.handler;
  });
}

import type {
  ConsumeContext,
  Instrumentation,
  Middleware,
  MiddlewareContext,
  SendContext,
} from '@finaegis/core';
import {
  type Attributes,
  type Context,
  context as contextApi,
  createNoopMeter,
  isSpanContextValid,
  type Link,
  type Meter,
  type MeterProvider,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { ATTR, SENT_AT_HEADER } from './conventions';
import { errorType, isDeadLettering } from './errors';
import { createInstruments } from './metrics';
import { SCOPE_NAME } from './version';

/** Options of `otelInstrumentation()`. */
export interface OtelInstrumentationOptions {
  /** Where spans go. Default: the global tracer provider (`trace.setGlobalTracerProvider`). */
  readonly tracerProvider?: TracerProvider;
  /** Where metrics go. Default: the global meter provider (`metrics.setGlobalMeterProvider`). */
  readonly meterProvider?: MeterProvider;
  /**
   * How the trace context is written into and read from message headers. Default: the global
   * propagator (`propagation.setGlobalPropagator`; the SDKs register W3C `traceparent`/`tracestate`).
   */
  readonly propagator?: TextMapPropagator;
  /**
   * `messaging.system` on spans and metrics: the transport's name (`kafka`, `bullmq`, `memory`).
   * Default `finaegis`. With `kafka`, process spans also carry `messaging.kafka.message.key`.
   */
  readonly system?: string;
  /** INTERNAL spans for in-process `dispatch`, `ask`, `askCached` and `publish`. Default true. */
  readonly inProcessSpans?: boolean;
  /**
   * The parent of a worker's `process` span. `creation` (default): the producer's context from the
   * message headers, so one request is one trace across processes (the producer is also linked, and
   * an ambient span, e.g. kafkajs auto-instrumentation's, becomes a second link). `ambient`: the
   * span active where the handling starts (none in a plain worker: a new trace), producer linked.
   */
  readonly processParent?: 'creation' | 'ambient';
  /** Milliseconds since the epoch, for lag (tests inject a clock). Default `Date.now`. */
  readonly now?: () => number;
}

const headerSetter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};
const headerGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

const SPAN_PREFIX: Record<string, string> = {
  dispatch: 'finaegis.dispatch',
  ask: 'finaegis.ask',
  askCached: 'finaegis.ask',
  publish: 'finaegis.publish',
};

/** What a consume hook keeps for the worker's pipeline to fill in (the decoded message's facts). */
interface Handling {
  readonly span: Span | undefined;
  occurredAt: number | undefined;
}

function tracingOn(tracer: Tracer): boolean {
  // The API without an SDK hands out spans with an invalid context; an SDK's are valid even when
  // sampled out (their context must still travel). The probe is never ended, so never exported.
  return isSpanContextValid(tracer.startSpan('finaegis.probe', { root: true }).spanContext());
}

/**
 * Traces and metrics for `createCqrs({ instrumentation: otelInstrumentation() })`.
 *
 * The providers are looked up here, once: register the SDK before calling it (or pass the
 * providers), as with any OpenTelemetry instrumentation. When neither a tracer nor a meter provider
 * would record anything, it returns no hooks at all and costs the buses nothing.
 */
export function otelInstrumentation(options: OtelInstrumentationOptions = {}): Instrumentation {
  const system = options.system ?? 'finaegis';
  const inProcessSpans = options.inProcessSpans ?? true;
  const parentFromCreation = (options.processParent ?? 'creation') === 'creation';
  const now = options.now ?? Date.now;
  const propagator: Pick<TextMapPropagator, 'inject' | 'extract'> = options.propagator ?? propagation;
  const handlings = new Map<string, Handling>();

  const candidate = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE_NAME);
  const meter: Meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE_NAME);
  const tracer = tracingOn(candidate) ? candidate : undefined;
  const instruments = meter === createNoopMeter() ? undefined : createInstruments(meter);
  // Nothing would be recorded: no hooks at all, so the buses keep their fastest path.
  if (tracer === undefined && instruments === undefined) return {};

  const middleware: Middleware = (mw, next) => {
    if (mw.operation === 'consume') return consumed(mw, next);
    // Async sends get their PRODUCER span and duration from the send hook.
    if (mw.async) return next();
    return inProcess(mw, next);
  };

  const consumed = (mw: MiddlewareContext, next: () => Promise<unknown>): Promise<unknown> => {
    const handling = handlings.get(mw.message.messageId);
    if (handling !== undefined) {
      const message = mw.message as { occurredAt?: unknown; correlationId?: unknown };
      if (message.occurredAt instanceof Date) handling.occurredAt = message.occurredAt.getTime();
      const correlation = message.correlationId ?? mw.message.metadata.correlationId;
      if (typeof correlation === 'string' && correlation !== '')
        handling.span?.setAttribute(ATTR.conversationId, correlation);
    }
    return next();
  };

  const inProcess = async (mw: MiddlewareContext, next: () => Promise<unknown>): Promise<unknown> => {
    const started = performance.now();
    const span =
      tracer !== undefined && inProcessSpans
        ? tracer.startSpan(`${SPAN_PREFIX[mw.operation] ?? `finaegis.${mw.operation}`} ${mw.messageType}`, {
            kind: SpanKind.INTERNAL,
            attributes: {
              [ATTR.operation]: mw.operation,
              [ATTR.messageKind]: mw.kind,
              [ATTR.messageType]: mw.messageType,
            },
          })
        : undefined;
    let failure: unknown;
    let failed = false;
    try {
      return await (span === undefined
        ? next()
        : contextApi.with(trace.setSpan(contextApi.active(), span), next));
    } catch (error) {
      failed = true;
      failure = error;
      throw error;
    } finally {
      const cacheResult =
        mw.operation === 'askCached'
          ? mw.coalesced === true
            ? 'coalesced'
            : mw.cached === true
              ? 'hit'
              : 'miss'
          : undefined;
      const type = failed ? errorType(failure) : undefined;
      if (span !== undefined) {
        if (cacheResult !== undefined) span.setAttribute(ATTR.cacheResult, cacheResult);
        if (type !== undefined) failSpan(span, type, failure);
        span.end();
      }
      if (instruments !== undefined) {
        const attributes: Attributes = {
          [ATTR.messageType]: mw.messageType,
          [ATTR.outcome]: failed ? 'failure' : 'success',
        };
        if (type !== undefined) attributes[ATTR.errorType] = type;
        if (cacheResult !== undefined) attributes[ATTR.cacheResult] = cacheResult;
        const seconds = (performance.now() - started) / 1000;
        if (mw.kind === 'command') instruments.commandDuration.record(seconds, attributes);
        else if (mw.kind === 'query') instruments.queryDuration.record(seconds, attributes);
        else instruments.eventDuration.record(seconds, attributes);
        if (cacheResult !== undefined) {
          instruments.cacheCalls.add(1, {
            [ATTR.messageType]: mw.messageType,
            [ATTR.cacheResult]: cacheResult,
          });
        }
        if (type !== undefined) {
          instruments.errors.add(1, {
            [ATTR.messageType]: mw.messageType,
            [ATTR.operation]: mw.operation,
            [ATTR.errorType]: type,
          });
        }
      }
    }
  };

  const send = async (
    sent: SendContext,
    headers: Record<string, string>,
    leave: () => Promise<void>,
  ): Promise<void> => {
    const started = performance.now();
    headers[SENT_AT_HEADER] = String(now());
    const attributes: Attributes = {
      [ATTR.messagingSystem]: system,
      [ATTR.operationName]: 'send',
      [ATTR.operationType]: 'send',
      [ATTR.destinationName]: sent.channel,
    };
    let parent: Context = contextApi.active();
    let span: Span | undefined;
    if (tracer !== undefined) {
      const spanAttributes: Attributes = {
        ...attributes,
        [ATTR.messageId]: sent.messageId,
        [ATTR.messageKind]: sent.kind,
        [ATTR.messageType]: sent.messageType,
        [ATTR.sendVia]: sent.via,
      };
      if (sent.correlationId !== undefined) spanAttributes[ATTR.conversationId] = sent.correlationId;
      if (system === 'kafka' && sent.key !== undefined) spanAttributes[ATTR.kafkaMessageKey] = sent.key;
      span = tracer.startSpan(
        `send ${sent.channel}`,
        { kind: SpanKind.PRODUCER, attributes: spanAttributes },
        parent,
      );
      parent = trace.setSpan(parent, span);
    }
    propagator.inject(parent, headers, headerSetter);
    let failure: unknown;
    let failed = false;
    try {
      await (span === undefined ? leave() : contextApi.with(parent, leave));
    } catch (error) {
      failed = true;
      failure = error;
      throw error;
    } finally {
      const type = failed ? errorType(failure) : undefined;
      if (span !== undefined) {
        if (type !== undefined) failSpan(span, type, failure);
        span.end();
      }
      if (instruments !== undefined) {
        if (type !== undefined) attributes[ATTR.errorType] = type;
        instruments.clientOperationDuration.record((performance.now() - started) / 1000, attributes);
        if (type === undefined) instruments.clientSentMessages.add(1, attributes);
        else {
          instruments.errors.add(1, {
            [ATTR.messageType]: sent.messageType,
            [ATTR.operation]: sent.kind === 'event' ? 'publishAsync' : 'dispatchAsync',
            [ATTR.errorType]: type,
          });
        }
      }
    }
  };

  const consume = async (consumed: ConsumeContext, handle: () => Promise<void>): Promise<void> => {
    const received = consumed.received;
    const started = performance.now();
    const attributes: Attributes = {
      [ATTR.messagingSystem]: system,
      [ATTR.operationName]: 'process',
      [ATTR.operationType]: 'process',
      [ATTR.destinationName]: consumed.channel,
      [ATTR.consumerGroupName]: consumed.group,
    };
    let span: Span | undefined;
    let spanContext: Context = contextApi.active();
    if (tracer !== undefined) {
      const ambient = contextApi.active();
      const creation = propagator.extract(ROOT_CONTEXT, received.headers, headerGetter);
      const creationSpan = trace.getSpanContext(creation);
      const ambientSpan = trace.getSpanContext(ambient);
      const links: Link[] = [];
      if (creationSpan !== undefined && isSpanContextValid(creationSpan))
        links.push({ context: creationSpan });
      let parent = ambient;
      if (parentFromCreation && links.length > 0) {
        parent = creation;
        // Processing inside another span (kafkajs' own consumer span, an HTTP push): keep it as a link.
        // (The memory transport delivers in the sender's context: its ambient span is the producer.)
        if (
          ambientSpan !== undefined &&
          isSpanContextValid(ambientSpan) &&
          ambientSpan.spanId !== creationSpan?.spanId
        )
          links.push({ context: ambientSpan });
      }
      const spanAttributes: Attributes = {
        ...attributes,
        [ATTR.messageId]: received.id,
        [ATTR.messageKind]: consumed.kind,
        [ATTR.messageType]: received.type,
        [ATTR.attempt]: received.attempt,
      };
      if (system === 'kafka' && received.key !== undefined)
        spanAttributes[ATTR.kafkaMessageKey] = received.key;
      if (received.partition !== undefined) spanAttributes[ATTR.partitionId] = String(received.partition);
      span = tracer.startSpan(
        `process ${consumed.channel}`,
        { kind: SpanKind.CONSUMER, attributes: spanAttributes, links },
        parent,
      );
      spanContext = trace.setSpan(parent, span);
    }
    const handling: Handling = { span, occurredAt: undefined };
    handlings.set(received.id, handling);
    let failure: unknown;
    let failed = false;
    try {
      await (span === undefined ? handle() : contextApi.with(spanContext, handle));
    } catch (error) {
      failed = true;
      failure = error;
      throw error;
    } finally {
      handlings.delete(received.id);
      const type = failed ? errorType(failure) : undefined;
      const deadLettered = failed && isDeadLettering(failure, received.attempt, consumed.maxAttempts);
      if (span !== undefined) {
        if (type !== undefined) {
          failSpan(span, type, failure);
          span.setAttribute(ATTR.deadLettered, deadLettered);
        }
        span.end();
      }
      if (instruments !== undefined) {
        const metricAttributes: Attributes = { ...attributes, [ATTR.messageType]: received.type };
        if (type !== undefined) metricAttributes[ATTR.errorType] = type;
        instruments.processDuration.record((performance.now() - started) / 1000, metricAttributes);
        if (type !== undefined) {
          instruments.errors.add(1, {
            [ATTR.messageType]: received.type,
            [ATTR.operation]: 'consume',
            [ATTR.errorType]: type,
          });
          if (deadLettered) instruments.deadLettered.add(1, metricAttributes);
        } else {
          const end = now();
          const lagAttributes: Attributes = { ...attributes, [ATTR.messageType]: received.type };
          const sentAt = Number(received.headers[SENT_AT_HEADER]);
          if (received.headers[SENT_AT_HEADER] !== undefined && Number.isFinite(sentAt))
            instruments.messageLag.record(Math.max(0, end - sentAt) / 1000, lagAttributes);
          if (handling.occurredAt !== undefined)
            instruments.eventLag.record(Math.max(0, end - handling.occurredAt) / 1000, lagAttributes);
        }
      }
    }
  };

  return { middleware, send, consume };
}

function failSpan(span: Span, type: string, error: unknown): void {
  span.setAttribute(ATTR.errorType, type);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  if (error instanceof Error) span.recordException(error);
}

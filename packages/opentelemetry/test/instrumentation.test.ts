import { createCqrs, silentLogger } from '@finaegis/core';
import { createMemoryCacheStore, createMemoryTransport } from '@finaegis/memory';
import { METRIC, otelInstrumentation, SENT_AT_HEADER } from '@finaegis/opentelemetry';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FailingCommand, GetBook, InsufficientFunds, OrderPlaced, PlaceOrder } from './domain';
import { byName, createTelemetry, histogram, parentOf, type Telemetry, total, until } from './support';

let telemetry: Telemetry;
const closers: Array<() => Promise<void>> = [];

beforeEach(() => {
  telemetry = createTelemetry();
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await telemetry.shutdown();
});

function app(
  options: { system?: string; processParent?: 'creation' | 'ambient'; inProcessSpans?: boolean } = {},
) {
  const transport = createMemoryTransport();
  const cqrs = createCqrs({
    logger: silentLogger,
    transport,
    cache: createMemoryCacheStore(),
    instrumentation: otelInstrumentation({
      tracerProvider: telemetry.tracerProvider,
      meterProvider: telemetry.meterProvider,
      ...(options.system === undefined ? {} : { system: options.system }),
      ...(options.processParent === undefined ? {} : { processParent: options.processParent }),
      ...(options.inProcessSpans === undefined ? {} : { inProcessSpans: options.inProcessSpans }),
    }),
  });
  closers.push(() => cqrs.close());
  return { cqrs, transport };
}

describe('in-process work', () => {
  test('dispatch, ask and publish are INTERNAL finaegis spans, nested as they ran, with durations by type and outcome', async () => {
    const { cqrs } = app();
    cqrs.eventBus.subscribe(OrderPlaced, () => undefined);
    cqrs.commandBus.register(PlaceOrder, async (command) => {
      await cqrs.eventBus.publish(new OrderPlaced(command.orderId));
      return command.orderId;
    });
    cqrs.queryBus.register(GetBook, () => ['o-1']);
    cqrs.commandBus.register(FailingCommand, (command) => {
      throw new InsufficientFunds(command.reason);
    });
    await cqrs.commandBus.dispatch(new PlaceOrder('o-1'));
    await cqrs.queryBus.ask(new GetBook('BTC/USD'));
    await expect(cqrs.commandBus.dispatch(new FailingCommand('broke'))).rejects.toThrow();

    const spans = telemetry.finished();
    const [dispatch] = byName(spans, 'finaegis.dispatch exchange.PlaceOrder');
    const [publish] = byName(spans, 'finaegis.publish exchange.OrderPlaced');
    const [ask] = byName(spans, 'finaegis.ask exchange.GetBook');
    const [failed] = byName(spans, 'finaegis.dispatch exchange.Failing');
    expect(dispatch?.kind).toBe(SpanKind.INTERNAL);
    expect(dispatch?.attributes).toMatchObject({
      'finaegis.operation': 'dispatch',
      'finaegis.message.kind': 'command',
      'finaegis.message.type': 'exchange.PlaceOrder',
    });
    expect(parentOf(publish!)).toBe(dispatch!.spanContext().spanId);
    expect(publish!.spanContext().traceId).toBe(dispatch!.spanContext().traceId);
    expect(ask?.kind).toBe(SpanKind.INTERNAL);
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes['error.type']).toBe('CommandExecutionError');

    const metrics = await telemetry.metrics();
    expect(
      histogram(metrics, METRIC.commandDuration, {
        'finaegis.message.type': 'exchange.PlaceOrder',
        'finaegis.outcome': 'success',
      }).count,
    ).toBe(1);
    expect(
      histogram(metrics, METRIC.commandDuration, {
        'finaegis.message.type': 'exchange.Failing',
        'finaegis.outcome': 'failure',
        'error.type': 'CommandExecutionError',
      }).count,
    ).toBe(1);
    expect(
      histogram(metrics, METRIC.queryDuration, { 'finaegis.message.type': 'exchange.GetBook' }).count,
    ).toBe(1);
    expect(
      histogram(metrics, METRIC.eventDuration, { 'finaegis.message.type': 'exchange.OrderPlaced' }).count,
    ).toBe(1);
    expect(
      total(metrics, METRIC.errors, {
        'finaegis.message.type': 'exchange.Failing',
        'finaegis.operation': 'dispatch',
        'error.type': 'CommandExecutionError',
      }),
    ).toBe(1);
  });

  test('a scripted sequence of askCached calls gives hits, misses and coalesced calls whose rate matches cacheStats()', async () => {
    const { cqrs } = app();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    cqrs.queryBus.register(GetBook, async (query) => {
      if (query.pair === 'SOL/USD') await gate;
      return [query.pair];
    });
    await cqrs.queryBus.askCached(new GetBook('BTC/USD')); // miss
    await cqrs.queryBus.askCached(new GetBook('BTC/USD')); // hit
    await cqrs.queryBus.askCached(new GetBook('BTC/USD')); // hit
    await cqrs.queryBus.askCached(new GetBook('ETH/USD')); // miss
    const first = cqrs.queryBus.askCached(new GetBook('SOL/USD')); // miss
    const second = cqrs.queryBus.askCached(new GetBook('SOL/USD')); // coalesced (same flight)
    await new Promise((resolve) => setTimeout(resolve, 5));
    release();
    await Promise.all([first, second]);
    await cqrs.queryBus.askCached(new GetBook('SOL/USD')); // hit

    const metrics = await telemetry.metrics();
    const hits = total(metrics, METRIC.cacheCalls, { 'finaegis.cache.result': 'hit' });
    const misses = total(metrics, METRIC.cacheCalls, { 'finaegis.cache.result': 'miss' });
    const coalesced = total(metrics, METRIC.cacheCalls, { 'finaegis.cache.result': 'coalesced' });
    expect({ hits, misses, coalesced }).toEqual({ hits: 3, misses: 3, coalesced: 1 });
    expect(hits / (hits + misses + coalesced)).toBeCloseTo(3 / 7);
    expect(cqrs.queryBus.cacheStats()).toMatchObject({ hits, misses, coalesced });
    const asks = byName(telemetry.finished(), 'finaegis.ask exchange.GetBook');
    expect(asks.map((span) => span.attributes['finaegis.cache.result']).sort()).toEqual(
      ['coalesced', 'hit', 'hit', 'hit', 'miss', 'miss', 'miss'].sort(),
    );
  });
});

describe('async messages', () => {
  test('send is a PRODUCER span whose context travels in the headers; the worker’s process span is its child, with a link, and parents the handling', async () => {
    const { cqrs } = app({ system: 'memory' });
    const handled: string[] = [];
    cqrs.commandBus.register(PlaceOrder, async (command) => {
      await cqrs.eventBus.publishAsync(new OrderPlaced(command.orderId, { correlationId: 'corr-7' }));
      return command.orderId;
    });
    cqrs.eventBus.subscribe(OrderPlaced, (event) => {
      handled.push(event.orderId);
    });
    const root = telemetry.tracerProvider.getTracer('test').startSpan('POST /orders');
    await context.with(trace.setSpan(context.active(), root), () =>
      cqrs.commandBus.dispatchAsync(new PlaceOrder('o-9'), { key: 'o-9' }),
    );
    root.end();
    await cqrs.startWorker();
    await until(() => handled.length === 1);
    await until(() =>
      ['process commands', 'process events'].every((name) => byName(telemetry.finished(), name).length === 1),
    );

    const spans = telemetry.finished();
    const [sendCommand] = byName(spans, 'send commands');
    const [processCommand] = byName(spans, 'process commands');
    const [dispatch] = byName(spans, 'finaegis.dispatch exchange.PlaceOrder');
    const [sendEvent] = byName(spans, 'send events');
    const [processEvent] = byName(spans, 'process events');
    const traceId = root.spanContext().traceId;
    for (const span of [sendCommand, processCommand, dispatch, sendEvent, processEvent])
      expect(span?.spanContext().traceId).toBe(traceId);
    expect(sendCommand?.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(sendCommand!)).toBe(root.spanContext().spanId);
    expect(sendCommand?.attributes).toMatchObject({
      'messaging.system': 'memory',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'commands',
      'finaegis.send.via': 'send',
    });
    expect(processCommand?.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(processCommand!)).toBe(sendCommand!.spanContext().spanId);
    expect(processCommand?.links.map((link) => link.context.spanId)).toEqual([
      sendCommand!.spanContext().spanId,
    ]);
    expect(processCommand?.attributes).toMatchObject({
      'messaging.system': 'memory',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'commands',
      'messaging.consumer.group.name': 'workers',
      'messaging.message.id': sendCommand!.attributes['messaging.message.id'],
      'finaegis.message.attempt': 1,
    });
    expect(parentOf(dispatch!)).toBe(processCommand!.spanContext().spanId);
    expect(parentOf(sendEvent!)).toBe(dispatch!.spanContext().spanId);
    expect(parentOf(processEvent!)).toBe(sendEvent!.spanContext().spanId);
    // Delivered by the memory transport in the sender's context: that ambient span is the producer,
    // linked once.
    expect(processEvent?.links.map((link) => link.context.spanId)).toEqual([sendEvent!.spanContext().spanId]);
    expect(sendEvent?.attributes['messaging.message.conversation_id']).toBe('corr-7');
    expect(processEvent?.attributes['messaging.message.conversation_id']).toBe('corr-7');

    const metrics = await telemetry.metrics();
    expect(
      histogram(metrics, METRIC.processDuration, {
        'messaging.destination.name': 'events',
        'messaging.consumer.group.name': 'workers',
        'messaging.operation.name': 'process',
      }).count,
    ).toBe(1);
    expect(
      histogram(metrics, METRIC.clientOperationDuration, { 'messaging.destination.name': 'commands' }).count,
    ).toBe(1);
    expect(total(metrics, METRIC.clientSentMessages)).toBe(2);
    // dispatchAsync has no in-process duration of its own: the send measures it.
    expect(
      histogram(metrics, METRIC.commandDuration, { 'finaegis.message.type': 'exchange.PlaceOrder' }).count,
    ).toBe(1);
  });

  test('the lag of an event is at least the time since it occurred and since it was sent', async () => {
    const { cqrs } = app();
    let handled = 0;
    cqrs.eventBus.subscribe(OrderPlaced, () => {
      handled++;
    });
    await cqrs.startWorker({ channels: ['events'] });
    const event = new OrderPlaced('o-lag');
    await new Promise((resolve) => setTimeout(resolve, 120));
    await cqrs.eventBus.publishAsync(event, { delay: 0.15 });
    await until(() => handled === 1);
    const metrics = await telemetry.metrics();
    const attributes = { 'messaging.destination.name': 'events', 'messaging.consumer.group.name': 'workers' };
    const eventLag = histogram(metrics, METRIC.eventLag, attributes);
    const messageLag = histogram(metrics, METRIC.messageLag, attributes);
    expect(eventLag.count).toBe(1);
    expect(eventLag.min).toBeGreaterThanOrEqual(0.27);
    expect(messageLag.count).toBe(1);
    expect(messageLag.min).toBeGreaterThanOrEqual(0.15);
    expect(messageLag.min).toBeLessThan(eventLag.min);
  });

  test('a failing handler: every attempt is a process span under the same producer, errors counted, the last one dead-letters, and a redrive keeps the trace', async () => {
    const { cqrs, transport } = app();
    let calls = 0;
    let fail = true;
    cqrs.commandBus.register(FailingCommand, (command) => {
      calls++;
      if (fail) throw new InsufficientFunds(command.reason);
    });
    await cqrs.startWorker({
      channels: ['commands'],
      retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 5 } },
    });
    await cqrs.commandBus.dispatchAsync(new FailingCommand('no funds'));
    await until(async () => (await transport.deadLetters('commands')).length === 1);
    const [dead] = await transport.deadLetters('commands');
    expect(dead?.message.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(dead?.message.headers[SENT_AT_HEADER]).toMatch(/^\d+$/);

    fail = false;
    await transport.redrive('commands');
    await until(() => calls === 4);
    await until(() => byName(telemetry.finished(), 'process commands').length === 4);

    const spans = telemetry.finished();
    const [send] = byName(spans, 'send commands');
    const processes = byName(spans, 'process commands');
    for (const span of processes) {
      expect(parentOf(span)).toBe(send!.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(send!.spanContext().traceId);
    }
    const failedSpans = processes.filter((span) => span.status.code === SpanStatusCode.ERROR);
    expect(failedSpans).toHaveLength(3);
    expect(failedSpans.map((span) => span.attributes['error.type'])).toEqual([
      'CommandExecutionError',
      'CommandExecutionError',
      'CommandExecutionError',
    ]);
    expect(failedSpans.map((span) => span.attributes['finaegis.message.dead_lettered'])).toEqual([
      false,
      false,
      true,
    ]);

    const metrics = await telemetry.metrics();
    expect(
      total(metrics, METRIC.errors, {
        'finaegis.message.type': 'exchange.Failing',
        'finaegis.operation': 'consume',
        'error.type': 'CommandExecutionError',
      }),
    ).toBe(3);
    expect(total(metrics, METRIC.deadLettered, { 'messaging.destination.name': 'commands' })).toBe(1);
    expect(histogram(metrics, METRIC.processDuration, { 'error.type': 'CommandExecutionError' }).count).toBe(
      3,
    );
    expect(
      histogram(metrics, METRIC.processDuration, { 'finaegis.message.type': 'exchange.Failing' }).count,
    ).toBe(4);
  });
});

describe('options', () => {
  test("processParent 'ambient': a worker's process span starts a trace of its own and links its producer; inProcessSpans false leaves out the INTERNAL spans", async () => {
    const { cqrs } = app({ processParent: 'ambient', inProcessSpans: false });
    let handled = 0;
    cqrs.commandBus.register(PlaceOrder, (command) => {
      handled++;
      return command.orderId;
    });
    // Sent before the worker starts: the memory transport delivers in the context of whoever made
    // the delivery possible (the sender, if the worker already ran), here the worker's start.
    await cqrs.commandBus.dispatchAsync(new PlaceOrder('o-1'));
    await cqrs.startWorker({ channels: ['commands'] });
    await until(() => handled === 1 && byName(telemetry.finished(), 'process commands').length === 1);
    const spans = telemetry.finished();
    const [send] = byName(spans, 'send commands');
    const [processed] = byName(spans, 'process commands');
    expect(parentOf(processed!)).toBeUndefined();
    expect(processed!.spanContext().traceId).not.toBe(send!.spanContext().traceId);
    expect(processed!.links.map((link) => link.context.spanId)).toEqual([send!.spanContext().spanId]);
    expect(spans.filter((span) => span.kind === SpanKind.INTERNAL)).toEqual([]);
    // The durations are recorded all the same.
    const metrics = await telemetry.metrics();
    expect(
      histogram(metrics, METRIC.commandDuration, { 'finaegis.message.type': 'exchange.PlaceOrder' }).count,
    ).toBe(1);
  });
});

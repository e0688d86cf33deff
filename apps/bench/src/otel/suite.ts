// What the OpenTelemetry instrumentation costs an in-process dispatch, ask and publish: the bus
// without it, with it but no SDK registered (the API's no-op providers), and with an SDK recording
// every span and metric (spans dropped by the exporter, metrics aggregated in memory).
import { strict as assert } from 'node:assert';
import { createCqrs, silentLogger } from '@finaegis/core';
import { otelInstrumentation } from '@finaegis/opentelemetry';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { GetDepth, OrderPlaced, PlaceOrder } from '../core/messages';
import { getDepth, onOrderPlaced, placeOrder, sink } from '../core/work';
import {
  type Case,
  type CaseResult,
  formatRate,
  formatRatio,
  markdownTable,
  medianRatio,
  runRounds,
} from '../harness';
import type { Suite, SuiteResult, TargetResult } from '../suite';

const CONTENDERS = {
  plain: '@finaegis/core, no instrumentation (silent logger, no middleware)',
  noSdk:
    "the same with createCqrs({ instrumentation: otelInstrumentation() }) and no SDK registered: it finds the API's no-op tracer and meter and installs no hooks",
  plainWithContext:
    'plain again, measured beside the SDK contender once its AsyncLocalStorage context manager is registered',
  idle: 'the same with an SDK that records nothing (every trace sampled out by AlwaysOffSampler, a MeterProvider without readers): the hooks run in full',
  sdk: 'the same with an SDK recording: BasicTracerProvider + SimpleSpanProcessor (spans dropped by the exporter) and a MeterProvider aggregating every histogram and counter',
} as const;
type Contender = Exclude<keyof typeof CONTENDERS, 'plainWithContext'>;
const LABELS = {
  plain: 'plain',
  noSdk: 'otel, no SDK',
  plainWithContext: 'plain + context manager',
  idle: 'otel, SDK idle',
  sdk: 'otel + SDK',
} as const;

let exported = 0;
/** Counts and drops spans: the cost of recording, not of an exporter's I/O. */
const droppingExporter: SpanExporter = {
  export(spans: ReadableSpan[], done) {
    exported += spans.length;
    done({ code: 0 });
  },
  shutdown: async () => undefined,
};
class IdleReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function build() {
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(droppingExporter)],
  });
  const reader = new IdleReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const apps = {
    plain: createCqrs({ logger: silentLogger }),
    noSdk: createCqrs({ logger: silentLogger, instrumentation: otelInstrumentation() }),
    idle: createCqrs({
      logger: silentLogger,
      instrumentation: otelInstrumentation({
        tracerProvider: new BasicTracerProvider({ sampler: new AlwaysOffSampler() }),
        meterProvider: new MeterProvider(),
      }),
    }),
    sdk: createCqrs({
      logger: silentLogger,
      instrumentation: otelInstrumentation({ tracerProvider, meterProvider }),
    }),
  };
  for (const app of Object.values(apps)) {
    app.commandBus.register(PlaceOrder, { handle: (command: PlaceOrder) => placeOrder(command) });
    app.queryBus.register(GetDepth, { handle: (query: GetDepth) => getDepth(query) });
    for (let i = 0; i < 3; i++)
      app.eventBus.subscribe(OrderPlaced, { handle: (e: OrderPlaced) => onOrderPlaced(e) });
  }
  const each = (names: readonly Contender[]) => (operation: (app: (typeof apps)['plain']) => unknown) =>
    Object.fromEntries(names.map((name) => [name, () => operation(apps[name])]));
  const casesOf = (names: readonly Contender[]): Case[] => [
    {
      name: 'dispatch',
      description: 'a command to its one handler (adds to a counter, returns it)',
      contenders: each(names)((app) => app.commandBus.dispatch(new PlaceOrder('BTC-USD', 1))),
    },
    {
      name: 'ask',
      description: 'a query to its one handler (a 10-level book from a Map)',
      contenders: each(names)((app) => app.queryBus.ask(new GetDepth('BTC-USD', 10))),
    },
    {
      name: 'publish (3 subscribers)',
      description: 'an event to 3 subscribers, each adding to a counter',
      contenders: each(names)((app) => app.eventBus.publish(new OrderPlaced('order-1', 1))),
    },
  ];
  return {
    casesOf,
    apps,
    reader,
    close: async () => {
      for (const app of Object.values(apps)) await app.close();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

export const otelSuite: Suite = {
  name: 'otel',
  async run(options) {
    const built = build();
    // Every contender does the work, and only the SDK one records: check once before timing.
    for (const [name, app] of Object.entries(built.apps)) {
      const before = sink.units;
      const spansBefore = exported;
      assert.equal(await app.commandBus.dispatch(new PlaceOrder('BTC-USD', 1)), before + 1, name);
      assert.equal(exported - spansBefore, name === 'sdk' ? 1 : 0, `${name} records spans only with the SDK`);
    }
    const { resourceMetrics } = await built.reader.collect();
    assert.ok(
      resourceMetrics.scopeMetrics.some((scope) =>
        scope.metrics.some((m) => m.descriptor.name === 'finaegis.command.duration'),
      ),
      'the SDK contender records the command duration',
    );
    const only = (cases: Case[]) =>
      cases.filter((c) => options.only === undefined || c.name.startsWith(options.only));
    const rounds = (phase: string) => ({
      ...options,
      onRound: (round: number, seconds: number) =>
        options.log(`otel (${phase}): round ${round}/${options.rounds} done in ${seconds.toFixed(1)} s`),
    });
    let results: CaseResult[];
    try {
      // Phase 1, nothing registered: what an application pays for installing the instrumentation
      // before (or without) an SDK.
      const bare = await runRounds(only(built.casesOf(['plain', 'noSdk'])), rounds('no SDK'));
      // Phase 2, with the context manager an SDK registers (AsyncLocalStorage slows every promise,
      // instrumented or not, so plain is measured again beside the SDK contender).
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      const recorded = await runRounds(only(built.casesOf(['plain', 'idle', 'sdk'])), rounds('SDK'));
      results = bare.map((c, index) => {
        const other = recorded[index]!;
        const merged: CaseResult = {
          name: c.name,
          description: c.description,
          median: {
            ...c.median,
            plainWithContext: other.median.plain!,
            idle: other.median.idle!,
            sdk: other.median.sdk!,
          },
          rounds: {
            ...c.rounds,
            plainWithContext: other.rounds.plain!,
            idle: other.rounds.idle!,
            sdk: other.rounds.sdk!,
          },
          rme: { ...c.rme, plainWithContext: other.rme.plain!, idle: other.rme.idle!, sdk: other.rme.sdk! },
        };
        // Cost = time per operation relative to plain = plain rate / contender rate.
        merged.ratios = {
          'noSdk cost': 1 / medianRatio(merged, 'noSdk', 'plain'),
          'idle cost': 1 / medianRatio(merged, 'idle', 'plainWithContext'),
          'sdk cost': 1 / medianRatio(merged, 'sdk', 'plainWithContext'),
        };
        return merged;
      });
    } finally {
      await built.close();
    }
    const dispatch = results.find((c) => c.name === 'dispatch');
    const targets: TargetResult[] =
      dispatch === undefined
        ? []
        : [
            {
              description:
                'dispatch with the instrumentation and no SDK, cost against no instrumentation (plain rate / its rate; ≤ 1.1× needed, shown as plain/otel)',
              ratio: 1 / dispatch.ratios!['noSdk cost']!,
              minimum: 1 / 1.1,
              met: dispatch.ratios!['noSdk cost']! <= 1.1,
            },
          ];
    const notes = [
      `Rates are medians over ${options.rounds} rounds; a cost is the median of the per-round ratios plain rate / contender rate (time per operation relative to plain).`,
      "No SDK: otelInstrumentation() finds the API's no-op providers and returns no hooks, so the bus keeps its path without middleware. 'SDK idle' is the cost of the hooks themselves: an SDK that samples every trace out and has no metric reader.",
      'The SDK cost is against plain measured in the same phase, with the context manager the SDK needs registered (AsyncLocalStorage makes every promise dearer, instrumented or not).',
      'With the SDK every operation makes one INTERNAL span (ended, handed to a SimpleSpanProcessor whose exporter drops it) and records one histogram point.',
    ];
    const header = [
      'operation',
      ...Object.values(LABELS).map((l) => `${l} ops/s`),
      'no SDK cost',
      'SDK idle cost',
      'SDK cost',
    ];
    const rows = results.map((c) => [
      c.name,
      ...(Object.keys(LABELS) as Array<keyof typeof LABELS>).map((name) => formatRate(c.median[name])),
      formatRatio(c.ratios?.['noSdk cost']),
      formatRatio(c.ratios?.['idle cost']),
      formatRatio(c.ratios?.['sdk cost']),
    ]);
    const lines = [markdownTable([header, ...rows], new Set([1, 2, 3, 4, 5, 6, 7, 8])), ''];
    for (const target of targets)
      lines.push(
        `- ${target.met ? 'met' : 'MISSED'}: dispatch, no SDK: ${(1 / target.ratio).toFixed(2)}× the time of plain (needs ≤ 1.10×)`,
      );
    lines.push('', ...notes.map((note) => `- ${note}`));
    const partial = { suite: 'otel', contenders: CONTENDERS, cases: results, targets, notes };
    return { ...partial, markdown: lines.join('\n') } satisfies SuiteResult;
  },
};

// In-process buses: @finaegis/core against calling the handler directly and against
// @nestjs/cqrs, in the same run, on the same handler bodies and the same cache store.
import { strict as assert } from 'node:assert';
import { type CacheStore, createCqrs, type LogContext, type Logger, silentLogger } from '@finaegis/core';
import { createMemoryCacheStore } from '@finaegis/memory';
import { type Case, formatRate, formatRatio, markdownTable, medianRatio, runRounds } from '../harness';
import type { Suite, SuiteResult, TargetResult } from '../suite';
import { GetDepth, GetDepthCachedForNest, OrderPlaced, PlaceOrder } from './messages';
import {
  cachedDepth,
  NestGetDepth,
  NestGetDepthCached,
  NestOrderPlaced,
  NestPlaceOrder,
  startNest,
} from './nest';
import { getDepth, onOrderPlaced, placeOrder, sink } from './work';

const CONTENDERS = {
  ours: '@finaegis/core: commandBus.dispatch / queryBus.ask / queryBus.askCached / eventBus.publish (no middleware, silent logger)',
  oursLogged:
    "@finaegis/core as createCqrs() comes by default: the guide's log line for every operation, formatted as consoleLogger does, into a sink that discards it (the cost of logging without the cost of the terminal)",
  direct:
    'the handler object called directly: `await handler.handle(message)` (and a hand-written cache-aside for askCached)',
  nest: '@nestjs/cqrs 11: CommandBus.execute / QueryBus.execute / EventBus.publish on Nest-style message classes',
  nestOurMessages:
    '@nestjs/cqrs 11 on our message classes (the same objects as ours: isolates the bus from message construction)',
} as const;

type Contender = keyof typeof CONTENDERS;

const LABELS: Record<Contender, string> = {
  ours: 'ours',
  oursLogged: 'ours, logging',
  direct: 'direct',
  nest: 'Nest',
  nestOurMessages: 'Nest, our msgs',
};

/** Waits until the event subscribers have run `target` times in all (Nest publishes fire-and-forget). */
async function handledAtLeast(target: number): Promise<void> {
  while (sink.eventsHandled < target) await new Promise((resolve) => setImmediate(resolve));
}

/** Nest's publish returns before its subscribers' promises settle; this returns once all 3 ran. */
function untilThreeRan(before: number): Promise<void> {
  return sink.eventsHandled - before >= 3 ? Promise.resolve() : handledAtLeast(before + 3);
}

/** Formats each line as `consoleLogger` does, then drops it (keeping its length, so it is not optimised away). */
function discardingLogger(): Logger {
  const write = (level: string) => (message: string, context?: LogContext) => {
    const time = new Date().toISOString().replace('T', ' ').slice(0, 19);
    sink.logged +=
      `[${time}] domain.${level}: ${message}${context ? ` ${JSON.stringify(context)}` : ''}`.length;
  };
  return { debug: write('DEBUG'), info: write('INFO'), warn: write('WARNING'), error: write('ERROR') };
}

async function build(cache: CacheStore) {
  const app = createCqrs({ logger: silentLogger, cache });
  const logged = createCqrs({ logger: discardingLogger(), cache });
  const placeOrderHandler = { handle: (command: PlaceOrder) => placeOrder(command) };
  const getDepthHandler = { handle: (query: GetDepth) => getDepth(query) };
  const subscribers = [0, 1, 2].map(() => ({ handle: (event: OrderPlaced) => onOrderPlaced(event) }));
  app.commandBus.register(PlaceOrder, placeOrderHandler);
  app.queryBus.register(GetDepth, getDepthHandler);
  for (const subscriber of subscribers) app.eventBus.subscribe(OrderPlaced, subscriber);
  logged.commandBus.register(PlaceOrder, placeOrderHandler);
  logged.queryBus.register(GetDepth, getDepthHandler);
  for (const subscriber of subscribers) logged.eventBus.subscribe(OrderPlaced, subscriber);
  const nest = await startNest(cache, 'nest');
  const nestOurs = await startNest(cache, 'ours');
  const directCached = cachedDepth(cache);

  const cases: Case[] = [
    {
      name: 'dispatch',
      description: 'a command to its one handler; the handler adds to a counter and returns it',
      contenders: {
        ours: () => app.commandBus.dispatch(new PlaceOrder('BTC-USD', 1)),
        oursLogged: () => logged.commandBus.dispatch(new PlaceOrder('BTC-USD', 1)),
        direct: () => placeOrderHandler.handle(new PlaceOrder('BTC-USD', 1)),
        nest: () => nest.commandBus.execute(new NestPlaceOrder('BTC-USD', 1)),
        nestOurMessages: () => nestOurs.commandBus.execute(new PlaceOrder('BTC-USD', 1)),
      },
    },
    {
      name: 'ask',
      description:
        'a query to its one handler; the handler returns a 10-level book from a read model (a Map)',
      contenders: {
        ours: () => app.queryBus.ask(new GetDepth('BTC-USD', 10)),
        oursLogged: () => logged.queryBus.ask(new GetDepth('BTC-USD', 10)),
        direct: () => getDepthHandler.handle(new GetDepth('BTC-USD', 10)),
        nest: () => nest.queryBus.execute(new NestGetDepth('BTC-USD', 10)),
        nestOurMessages: () => nestOurs.queryBus.execute(new GetDepth('BTC-USD', 10)),
      },
    },
    {
      name: 'askCached (hit)',
      description:
        'the same query answered from the cache store; ours builds its key from the fields, the others use a hand-written key',
      contenders: {
        ours: () => app.queryBus.askCached(new GetDepth('BTC-USD', 10)),
        oursLogged: () => logged.queryBus.askCached(new GetDepth('BTC-USD', 10)),
        direct: () => directCached(new GetDepth('BTC-USD', 10)),
        nest: () => nest.queryBus.execute(new NestGetDepthCached('BTC-USD', 10)),
        nestOurMessages: () => nestOurs.queryBus.execute(new GetDepthCachedForNest('BTC-USD', 10)),
      },
    },
    {
      name: 'publish (3 subscribers)',
      description: 'an event to 3 subscribers, each adding to a counter; done when all 3 ran',
      contenders: {
        ours: () => app.eventBus.publish(new OrderPlaced('order-1', 1)),
        oursLogged: () => logged.eventBus.publish(new OrderPlaced('order-1', 1)),
        direct: async () => {
          const event = new OrderPlaced('order-1', 1);
          for (const subscriber of subscribers) await subscriber.handle(event);
        },
        nest: () => {
          const before = sink.eventsHandled;
          nest.eventBus.publish(new NestOrderPlaced('order-1', 1));
          return untilThreeRan(before);
        },
        nestOurMessages: () => {
          const before = sink.eventsHandled;
          nestOurs.eventBus.publish(new OrderPlaced('order-1', 1));
          return untilThreeRan(before);
        },
      },
    },
  ];

  // Every contender must do the work it is timed for: check once before timing anything.
  for (const c of cases) {
    for (const [name, operation] of Object.entries(c.contenders)) {
      const units = sink.units;
      const handled = sink.eventsHandled;
      const result = await operation();
      const where = `${c.name} / ${name}`;
      if (c.name === 'dispatch') assert.equal(result, units + 1, where);
      if (c.name.startsWith('ask')) assert.equal((result as { levels: number }).levels, 10, where);
      if (c.name.startsWith('publish')) assert.equal(sink.eventsHandled, handled + 3, where);
    }
  }
  const loggedBefore = sink.logged;
  await logged.commandBus.dispatch(new PlaceOrder('BTC-USD', 1));
  assert.ok(sink.logged > loggedBefore, 'the logging contender writes a line');
  const hitsBefore = app.queryBus.cacheStats().hits;
  await app.queryBus.askCached(new GetDepth('BTC-USD', 10));
  assert.equal(app.queryBus.cacheStats().hits, hitsBefore + 1, 'askCached answers from the cache');

  return {
    cases,
    close: async () => {
      await nest.close();
      await nestOurs.close();
      await app.close();
      await logged.close();
    },
  };
}

function render(result: Omit<SuiteResult, 'markdown'>): string {
  const order = Object.keys(CONTENDERS) as Contender[];
  const header = [
    'operation',
    ...order.map((c) => `${LABELS[c]} ops/s`),
    'ours / Nest',
    'ours / direct',
    'ours / Nest (our msgs)',
    'logging / ours',
  ];
  const rows = result.cases.map((c) => [
    c.name,
    ...order.map((name) => formatRate(c.median[name])),
    formatRatio(c.ratios?.['ours/nest']),
    formatRatio(c.ratios?.['ours/direct']),
    formatRatio(c.ratios?.['ours/nestOurMessages']),
    formatRatio(c.ratios?.['oursLogged/ours']),
  ]);
  const right = new Set(header.map((_, index) => index).filter((index) => index > 0));
  const lines = [markdownTable([header, ...rows], right), ''];
  for (const target of result.targets) {
    lines.push(
      `- ${target.met ? 'met' : 'MISSED'}: ${target.description}: ${target.ratio.toFixed(2)}× (needs ≥ ${target.minimum}×)`,
    );
  }
  lines.push('', ...result.notes.map((note) => `- ${note}`));
  return lines.join('\n');
}

export const coreSuite: Suite = {
  name: 'core',
  async run(options) {
    const built = await build(createMemoryCacheStore());
    const { close } = built;
    const cases = built.cases.filter((c) => options.only === undefined || c.name.startsWith(options.only));
    let results: Awaited<ReturnType<typeof runRounds>>;
    try {
      results = await runRounds(cases, {
        ...options,
        onRound: (round, seconds) =>
          options.log(`core: round ${round}/${options.rounds} done in ${seconds.toFixed(1)} s`),
      });
    } finally {
      await close();
    }
    for (const c of results) {
      c.ratios = {};
      for (const other of ['nest', 'direct', 'nestOurMessages'])
        c.ratios[`ours/${other}`] = medianRatio(c, 'ours', other);
      c.ratios['oursLogged/ours'] = medianRatio(c, 'oursLogged', 'ours');
    }
    const dispatch = results.find((c) => c.name === 'dispatch');
    const cachedHit = results.find((c) => c.name === 'askCached (hit)');
    const target = (description: string, ratio: number, minimum: number): TargetResult => ({
      description,
      ratio,
      minimum,
      met: ratio >= minimum,
    });
    const targets = [
      ...(dispatch === undefined
        ? []
        : [
            target('dispatch vs Nest CommandBus.execute', dispatch.ratios!['ours/nest']!, 1.2),
            target('dispatch vs calling the handler', dispatch.ratios!['ours/direct']!, 0.8),
          ]),
      ...(cachedHit === undefined
        ? []
        : [
            target(
              'askCached hit vs a hand-written cache-aside on the same store',
              cachedHit.ratios!['ours/direct']!,
              0.8,
            ),
          ]),
    ];
    const notes = [
      `Rates are medians over ${options.rounds} rounds; ratios are medians of the per-round ratios (the contenders of a row run back to back, so a per-round ratio cancels the machine's load drifting between rounds).`,
      `Each round runs every task for ${options.timeMs} ms after ${options.warmupMs} ms of warm-up, ${options.batch === 1 ? 'one awaited operation per timed call' : `${options.batch} awaited operations per timed call`}.`,
      "'ours' runs with logger: silentLogger (no logging middleware at all); 'ours, logging' is createCqrs()'s default: one info line per operation. 'logging / ours' is the throughput kept with logging on (to a real terminal or file the I/O costs more).",
      'Every operation creates its message inside the timed call, in every column.',
      'Handler bodies are the same functions in every column; the cache store is one shared MemoryCacheStore (@finaegis/memory).',
      "Nest's EventBus.publish is fire-and-forget: its subscribers' bodies run inside publish (rxjs mergeMap), and the timed call returns once the 3 subscribers have run (it would wait on setImmediate if they had not); their promises are not awaited, which Nest offers no way to do. Ours and direct await each subscriber in turn.",
      "askCached: Nest's query bus has no cache, so its handler does cache-aside by hand with the same store, as direct does; ours derives the key from the query's fields (a key function compiled once per query class; the same keys as stableKey). Instructions per hit, which the machine's load does not move: `pnpm --filter finaegis-bench bench:cached-instructions` (callgrind).",
    ];
    const partial = { suite: 'core', contenders: CONTENDERS, cases: results, targets, notes };
    return { ...partial, markdown: render(partial) };
  },
};

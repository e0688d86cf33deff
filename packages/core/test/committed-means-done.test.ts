// After a commit nothing turns into an error for the caller and nothing is dropped silently; a
// failed nested transaction leaves nothing behind. Each test here failed on the code before.
import {
  type CacheStore,
  configFromEnv,
  createCqrs,
  currentTransaction,
  defineConfig,
  loggingMiddleware,
  silentLogger,
  type TransactionContext,
  type UndeliveredMessage,
  UnitOfWorkError,
} from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { CancelOrderCommand, GetOrderBookQuery, OrderPlaced, PlaceOrderCommand } from './domain';
import {
  FakeTransactionManager,
  FlakyTransport,
  MapCache,
  memoryLogger,
  RecordingTransport,
  SavepointTransactionManager,
} from './fakes';

const payloadOf = (body: string) => (JSON.parse(body) as { payload: { orderId: string } }).payload;

const write = (tx: TransactionContext, key: string, value: string) =>
  (tx.client as Map<string, string>).set(key, value);

describe('nested transactions', () => {
  function setup() {
    const transport = new RecordingTransport();
    const transactionManager = new SavepointTransactionManager();
    const app = createCqrs({ logger: silentLogger, transport, transactionManager });
    const published: string[] = [];
    app.eventBus.subscribe(OrderPlaced, (e) => void published.push(e.orderId));
    app.commandBus.register(PlaceOrderCommand, async (cmd) => {
      const id = `o-${cmd.userId}`;
      write(currentTransaction()!, id, cmd.amount);
      app.eventBus.record(new OrderPlaced(id, cmd.userId));
      await app.eventBus.publish(new OrderPlaced(`${id}-published`, cmd.userId));
      await app.commandBus.dispatchAsync(new CancelOrderCommand(`later-${id}`));
      return { id, pair: cmd.pair, amount: cmd.amount };
    });
    app.commandBus.register(CancelOrderCommand, (cmd) => {
      if (cmd.orderId === 'fail') throw new Error('cannot cancel');
      return true;
    });
    const run = <T>(work: () => Promise<T>) => app.transaction(work);
    return { app, transport, transactionManager, published, run };
  }

  test('a failed nested batch is undone alone; the outer transaction commits what it did before and after', async () => {
    const { app, transport, transactionManager, published, run } = setup();
    const outcome = await run(async () => {
      await app.commandBus.dispatch(new PlaceOrderCommand('before', 'BTC/USD', '1'));
      const error = await app
        .transaction(async () => {
          return app.commandBus.dispatchTransaction([
            new PlaceOrderCommand('inner', 'BTC/USD', '2'),
            new CancelOrderCommand('fail'),
          ]);
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      await app.commandBus.dispatch(new PlaceOrderCommand('after', 'BTC/USD', '3'));
      return 'done';
    });
    expect(outcome).toBe('done');
    expect(transactionManager.savepoints).toBe(2);
    // The inner batch's write, recorded and published events and async send are all gone.
    expect([...transactionManager.committed.keys()]).toEqual(['o-before', 'o-after']);
    expect(published).toEqual(['o-before', 'o-before-published', 'o-after', 'o-after-published']);
    expect(transport.sent.map((s) => payloadOf(s.message.body).orderId)).toEqual([
      'later-o-before',
      'later-o-after',
    ]);
  });

  test('a nested batch that succeeds commits and delivers with the outer transaction', async () => {
    const { app, transport, transactionManager, published, run } = setup();
    await run(async () => {
      await app.transaction(async () => {
        await app.commandBus.dispatch(new PlaceOrderCommand('inner', 'BTC/USD', '2'));
        // Held until the OUTER commit: nothing has left yet.
        expect(published).toEqual([]);
        expect(transport.sent).toEqual([]);
      });
    });
    expect([...transactionManager.committed.keys()]).toEqual(['o-inner']);
    expect(published).toEqual(['o-inner', 'o-inner-published']);
    expect(transport.sent).toHaveLength(1);
  });

  test('the outer transaction rolling back undoes a nested batch that succeeded', async () => {
    const { app, transport, transactionManager, published, run } = setup();
    const error = await run(async () => {
      await app.transaction(async () => {
        await app.commandBus.dispatch(new PlaceOrderCommand('inner', 'BTC/USD', '2'));
      });
      throw new Error('outer fails');
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('outer fails');
    expect(transactionManager.committed.size).toBe(0);
    expect(published).toEqual([]);
    expect(transport.sent).toEqual([]);
  });

  test('without savepoints a failed nested batch makes the outer transaction roll back, never half-commit', async () => {
    const transport = new RecordingTransport();
    const transactionManager = new FakeTransactionManager();
    const app = createCqrs({ logger: silentLogger, transport, transactionManager });
    const published: string[] = [];
    app.eventBus.subscribe(OrderPlaced, (e) => void published.push(e.orderId));
    const error = await app
      .transaction(async () => {
        app.eventBus.record(new OrderPlaced('outer', 'u'));
        await app
          .transaction(async () => {
            app.eventBus.record(new OrderPlaced('inner', 'u'));
            throw new Error('inner fails');
          })
          .catch(() => undefined);
        return 'would commit';
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnitOfWorkError);
    expect(((error as Error).cause as Error).message).toBe('inner fails');
    expect(transactionManager.commits).toBe(0);
    expect(transactionManager.rollbacks).toBe(1);
    expect(published).toEqual([]);
  });
});

describe('recorded and published events inside a transaction', () => {
  test('clearRecorded() forgets recorded events only: events published inside still leave after commit', async () => {
    const app = createCqrs({ logger: silentLogger, transactionManager: new FakeTransactionManager() });
    const published: string[] = [];
    app.eventBus.subscribe(OrderPlaced, (e) => void published.push(e.orderId));
    await app.transaction(async () => {
      app.eventBus.record(new OrderPlaced('recorded', 'u'));
      await app.eventBus.publish(new OrderPlaced('published', 'u'));
      expect(app.eventBus.recorded().map((e) => (e as OrderPlaced).orderId)).toEqual(['recorded']);
      expect(app.eventBus.clearRecorded()).toBe(1);
      expect(app.eventBus.recorded()).toEqual([]);
    });
    expect(published).toEqual(['published']);
  });
});

describe('after commit without an outbox', () => {
  function setup(failing: ConstructorParameters<typeof FlakyTransport>[0]) {
    const transport = new FlakyTransport(failing);
    const logger = memoryLogger();
    const undelivered: UndeliveredMessage[] = [];
    const app = createCqrs({
      logger,
      config: defineConfig({ logLevel: 'warn' }),
      transport,
      transactionManager: new FakeTransactionManager(),
      afterCommit: { attempts: 3, backoffMs: 1, onUndelivered: (u) => void undelivered.push(u) },
    });
    const published: string[] = [];
    app.eventBus.subscribe(OrderPlaced, (e) => void published.push(e.orderId));
    return { app, transport, logger, undelivered, published };
  }

  test('every held send is tried even when an earlier one fails, retried, reported, and the call resolves with its result', async () => {
    const { app, transport, logger, undelivered, published } = setup(
      (message, attempt) =>
        message.type === 'CancelOrderCommand' &&
        (payloadOf(message.body).orderId === 'never' || attempt === 1),
    );
    const result = await app.transaction(async () => {
      await app.commandBus.dispatchAsync(new CancelOrderCommand('never'));
      await app.commandBus.dispatchAsync(new CancelOrderCommand('second-try'));
      await app.eventBus.publishAsync(new OrderPlaced('async', 'u'));
      app.eventBus.record(new OrderPlaced('local', 'u'));
      return 'committed';
    });
    expect(result).toBe('committed');
    // The first message failed every try; the second on its first; the event at once.
    const ids = transport.sent.map((s) => s.message.type);
    expect(ids).toEqual(['OrderPlaced', 'CancelOrderCommand']);
    expect(transport.tries).toHaveLength(3 + 2 + 1);
    expect(published).toEqual(['local']);
    expect(undelivered).toHaveLength(1);
    expect(undelivered[0]).toMatchObject({
      channel: 'commands',
      messageType: 'CancelOrderCommand',
      attempts: 3,
    });
    const errorLine = logger.lines.find((l) => l.level === 'error');
    expect(errorLine?.message).toBe('Async send after commit undelivered');
    expect(errorLine?.context).toMatchObject({
      channel: 'commands',
      type: 'CancelOrderCommand',
      id: undelivered[0]!.messageId,
    });
    expect(app.afterCommitStats()).toEqual({ sent: 2, retried: 3, undelivered: 1, subscriberFailures: 0 });
  });

  test('a subscriber failing after commit is logged and counted, the others still run, the caller gets its result', async () => {
    const { app, logger, published } = setup(() => false);
    app.eventBus.subscribe(OrderPlaced, () => {
      throw new Error('projection down');
    });
    const result = await app.transaction(async () => {
      app.eventBus.record(new OrderPlaced('a', 'u'));
      app.eventBus.record(new OrderPlaced('b', 'u'));
      return 42;
    });
    expect(result).toBe(42);
    expect(published).toEqual(['a', 'b']);
    expect(logger.lines.filter((l) => l.message === 'Subscriber failed after commit')).toHaveLength(2);
    expect(app.afterCommitStats().subscriberFailures).toBe(2);
  });

  test('a subscriber failing on events recorded in a unit of work does not fail the finished work', async () => {
    const { app, published } = setup(() => false);
    app.eventBus.subscribe(OrderPlaced, () => {
      throw new Error('read model down');
    });
    const result = await app.unitOfWork(async () => {
      app.eventBus.record(new OrderPlaced('u1', 'u'));
      return 'stored';
    });
    expect(result).toBe('stored');
    expect(published).toEqual(['u1']);
    expect(app.afterCommitStats().subscriberFailures).toBe(1);
  });
});

describe('cache invalidation never fails committed work', () => {
  class FlakyCache extends MapCache {
    failures: number;
    hang = false;
    constructor(failures: number) {
      super();
      this.failures = failures;
    }
    override async delete(namespace: string, key: string) {
      if (this.hang) return new Promise<boolean>(() => {});
      if (this.failures-- > 0) throw new Error('cache down');
      return super.delete(namespace, key);
    }
    override async clear(namespace: string) {
      if (this.hang) return new Promise<void>(() => {});
      if (this.failures-- > 0) throw new Error('cache down');
      return super.clear(namespace);
    }
  }

  function setup(cache: CacheStore) {
    const logger = memoryLogger();
    const app = createCqrs({
      logger,
      config: defineConfig({ logLevel: 'warn' }),
      cache,
      transactionManager: new FakeTransactionManager(),
      cacheInvalidation: { timeoutMs: 50, retries: 3, backoffMs: 5 },
    });
    let runs = 0;
    app.queryBus.register(GetOrderBookQuery, (q) => ({ pair: `${q.pair}#${++runs}`, bids: [], asks: [] }));
    return { app, logger };
  }

  test('a failing store: invalidate resolves false, is logged and counted, and the deletion is retried until it lands', async () => {
    const cache = new FlakyCache(2);
    const { app, logger } = setup(cache);
    await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'));
    const result = await app
      .transaction(async () => 'committed')
      .then(async (value) => {
        expect(await app.queryBus.invalidate(new GetOrderBookQuery('BTC/USD'))).toBe(false);
        return value;
      });
    expect(result).toBe('committed');
    expect(app.queryBus.cacheStats()).toMatchObject({ invalidationFailures: 1, errors: 1 });
    expect(logger.lines.map((l) => l.message)).toContain(
      'Query cache invalidation failed; retrying in the background',
    );
    await expect.poll(() => cache.entries.size, { timeout: 2000 }).toBe(0);
    expect(app.queryBus.cacheStats().invalidationFailures).toBe(2);
    expect((await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD')))?.pair).toBe('BTC/USD#2');
    await app.close();
  });

  test('a store that never answers: invalidateType resolves after the timeout; giving up is logged at error level', async () => {
    const cache = new FlakyCache(0);
    cache.hang = true;
    const { app, logger } = setup(cache);
    const started = performance.now();
    await app.queryBus.invalidateType(GetOrderBookQuery);
    expect(performance.now() - started).toBeLessThan(1000);
    await expect
      .poll(() => logger.lines.filter((l) => l.level === 'error').map((l) => l.message), { timeout: 3000 })
      .toEqual(['Query cache invalidation abandoned; stale entries live until their TTL ends']);
    expect(app.queryBus.cacheStats().invalidationFailures).toBe(4);
    await app.close();
  });
});

describe('logging by default, as the guide says', () => {
  function exercise(app: ReturnType<typeof createCqrs>) {
    app.commandBus.register(PlaceOrderCommand, (cmd) => ({ id: 'o1', pair: cmd.pair, amount: cmd.amount }));
    app.queryBus.register(GetOrderBookQuery, (q) => ({ pair: q.pair, bids: [], asks: [] }));
    return (async () => {
      await app.commandBus.dispatch(new PlaceOrderCommand('123', 'BTC/USD', '1'));
      await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'));
      await app.eventBus.publish(new OrderPlaced('o1', '123'));
    })();
  }

  test("createCqrs() writes the guide's three lines at info level", async () => {
    const logger = memoryLogger();
    const app = createCqrs({ logger, cache: new MapCache() });
    await exercise(app);
    expect(logger.lines.map((l) => [l.level, l.message])).toEqual([
      ['info', 'Command dispatched'],
      ['info', 'Query executed'],
      ['info', 'Event published'],
    ]);
    expect(logger.lines[0]!.context).toMatchObject({ command: 'PlaceOrderCommand', user: '123' });
    expect(logger.lines[1]!.context).toMatchObject({ query: 'GetOrderBookQuery', cached: false });
    expect(logger.lines[2]!.context).toMatchObject({ event: 'OrderPlaced', async: false });
  });

  test('failures are logged at error level', async () => {
    const logger = memoryLogger();
    const app = createCqrs({ logger });
    app.commandBus.register(CancelOrderCommand, () => {
      throw new Error('nope');
    });
    await expect(app.commandBus.dispatch(new CancelOrderCommand('x'))).rejects.toThrow();
    expect(logger.lines.map((l) => [l.level, l.message])).toEqual([['error', 'Command failed']]);
  });

  test('DOMAIN_LOG_LEVEL, config.logLevel and silentLogger turn it down or off', async () => {
    for (const [level, expected] of [
      ['warn', 0],
      ['off', 0],
      ['debug', 3],
      ['info', 3],
    ] as const) {
      const logger = memoryLogger();
      await exercise(
        createCqrs({ logger, cache: new MapCache(), config: configFromEnv({ DOMAIN_LOG_LEVEL: level }) }),
      );
      expect(logger.lines, level).toHaveLength(expected);
    }
    expect(() => configFromEnv({ DOMAIN_LOG_LEVEL: 'loud' })).toThrow(
      /DOMAIN_LOG_LEVEL.*debug, info, warn, error, off/,
    );
    const app = createCqrs({ logger: silentLogger });
    app.commandBus.register(PlaceOrderCommand, (cmd) => ({ id: 'o1', pair: cmd.pair, amount: cmd.amount }));
    await expect(app.commandBus.dispatch(new PlaceOrderCommand('1', 'BTC/USD', '1'))).resolves.toMatchObject({
      id: 'o1',
    });
  });

  test('a loggingMiddleware passed in is not doubled', async () => {
    const logger = memoryLogger();
    await exercise(createCqrs({ logger, cache: new MapCache(), middleware: [loggingMiddleware(logger)] }));
    expect(logger.lines).toHaveLength(3);
  });
});

describe('cache statistics agree with the log lines', () => {
  test('hits + misses + coalesced = askCached calls; coalesced calls say so in their line', async () => {
    const logger = memoryLogger();
    const app = createCqrs({ logger, cache: new MapCache() });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    app.queryBus.register(GetOrderBookQuery, async (q) => {
      runs += 1;
      await gate;
      return { pair: q.pair, bids: [], asks: [] };
    });
    const calls = Array.from({ length: 5 }, () => app.queryBus.askCached(new GetOrderBookQuery('BTC/USD')));
    await new Promise((resolve) => setTimeout(resolve, 5));
    release();
    await Promise.all(calls);
    await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'));
    expect(runs).toBe(1);
    const stats = app.queryBus.cacheStats();
    expect(stats).toMatchObject({ hits: 1, misses: 1, coalesced: 4 });
    expect(stats.hits + stats.misses + stats.coalesced).toBe(6);
    const lines = logger.lines
      .filter((l) => l.message === 'Query executed')
      .map((l) => l.context as Record<string, unknown>);
    expect(lines.filter((c) => c.cached === true)).toHaveLength(stats.hits);
    expect(lines.filter((c) => c.coalesced === true)).toHaveLength(stats.coalesced);
    expect(lines.filter((c) => c.cached === false && c.coalesced !== true)).toHaveLength(stats.misses);
  });
});

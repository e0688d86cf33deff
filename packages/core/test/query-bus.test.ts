import {
  createCqrs,
  HandlerNotFoundError,
  Query,
  QueryExecutionError,
  silentLogger,
  stableKey,
} from '@finaegis/core';
import { describe, expect, expectTypeOf, test } from 'vitest';
import { GetOrderBookQuery } from './domain';
import { BrokenCache, MapCache, memoryLogger } from './fakes';

class GetPrice extends Query<string> {
  static readonly messageType = 'GetPrice';
  constructor(readonly pair: string) {
    super();
  }
}

class GetClock extends Query<number> {
  static readonly messageType = 'GetClock';
  override cacheable() {
    return false;
  }
}

class GetTicker extends Query<string> {
  static readonly messageType = 'GetTicker';
  constructor(readonly pair: string) {
    super();
  }
  override cacheKey() {
    return this.pair.toLowerCase();
  }
  override cacheTtl() {
    return 5;
  }
}

describe('QueryBus.ask', () => {
  test('returns the typed result; no handler → HandlerNotFoundError', async () => {
    const { queryBus } = createCqrs({ logger: silentLogger });
    await expect(queryBus.ask(new GetPrice('BTC/USD'))).rejects.toBeInstanceOf(HandlerNotFoundError);
    queryBus.register(GetPrice, (q) => `${q.pair}=42000.10`);
    const price = await queryBus.ask(new GetPrice('BTC/USD'));
    expectTypeOf(price).toEqualTypeOf<string>();
    expect(price).toBe('BTC/USD=42000.10');
  });

  test('handler errors become QueryExecutionError with the cause', async () => {
    const { queryBus } = createCqrs({ logger: silentLogger });
    const boom = new Error('db down');
    queryBus.register(GetPrice, async () => {
      throw boom;
    });
    const error = await queryBus.ask(new GetPrice('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryExecutionError);
    expect((error as Error).cause).toBe(boom);
  });
});

describe('QueryBus.askCached', () => {
  test('caches under prefix + wire name + a key that ignores field order', async () => {
    const cache = new MapCache();
    const { queryBus } = createCqrs({ logger: silentLogger, cache });
    let runs = 0;
    queryBus.register(GetOrderBookQuery, (q) => {
      runs += 1;
      return { pair: q.pair, bids: [], asks: [] };
    });
    const first = await queryBus.askCached(new GetOrderBookQuery('BTC/USD', 10));
    const second = await queryBus.askCached(new GetOrderBookQuery('BTC/USD', 10));
    expect(second).toEqual(first);
    expect(runs).toBe(1);
    expect([...cache.entries.keys()]).toEqual(['query:GetOrderBookQuery|{"depth":10,"pair":"BTC/USD"}']);
    await queryBus.askCached(new GetOrderBookQuery('ETH/USD', 10));
    expect(runs).toBe(2);
  });

  test('stableKey does not depend on field order and tells different values apart', () => {
    expect(stableKey({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(stableKey({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(stableKey({ a: 1 })).not.toBe(stableKey({ a: '1' }));
    expect(stableKey({ a: undefined, b: 1 })).toBe(stableKey({ b: 1 }));
    expect(stableKey({ when: new Date(0) })).toBe('{"when":"1970-01-01T00:00:00.000Z"}');
    const long = stableKey({ text: 'x'.repeat(500) });
    expect(long).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(stableKey({ text: 'x'.repeat(500) })).toBe(long);
  });

  test('null results are cached too', async () => {
    const cache = new MapCache();
    const { queryBus } = createCqrs({ logger: silentLogger, cache });
    let runs = 0;
    queryBus.register(GetOrderBookQuery, () => {
      runs += 1;
      return null;
    });
    expect(await queryBus.askCached(new GetOrderBookQuery('XRP/USD'))).toBeNull();
    expect(await queryBus.askCached(new GetOrderBookQuery('XRP/USD'))).toBeNull();
    expect(runs).toBe(1);
  });

  test('concurrent identical misses run the handler once', async () => {
    const cache = new MapCache();
    const { queryBus } = createCqrs({ logger: silentLogger, cache });
    let runs = 0;
    queryBus.register(GetPrice, async (q) => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return q.pair;
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => queryBus.askCached(new GetPrice('BTC/USD'))),
    );
    expect(new Set(results)).toEqual(new Set(['BTC/USD']));
    expect(runs).toBe(1);
  });

  test('a query can opt out, or bring its own key and TTL', async () => {
    const cache = new MapCache();
    const { queryBus } = createCqrs({ logger: silentLogger, cache });
    let clock = 0;
    queryBus.register(GetClock, () => ++clock);
    expect(await queryBus.askCached(new GetClock())).toBe(1);
    expect(await queryBus.askCached(new GetClock())).toBe(2);
    const ttls: number[] = [];
    const spy = Object.assign(cache, {
      set: async (ns: string, key: string, value: unknown, ttl: number) => {
        ttls.push(ttl);
        cache.entries.set(`${ns}|${key}`, value);
      },
    });
    expect(spy).toBe(cache);
    queryBus.register(GetTicker, (q) => q.pair);
    await queryBus.askCached(new GetTicker('BTC/USD'));
    await queryBus.askCached(new GetTicker('ETH/USD'), { ttl: 60 });
    expect(cache.entries.has('query:GetTicker|btc/usd')).toBe(true);
    expect(ttls).toEqual([5, 60]);
  });

  test('invalidate one query, or every query of a type', async () => {
    const cache = new MapCache();
    const { queryBus } = createCqrs({ logger: silentLogger, cache });
    let runs = 0;
    queryBus.register(GetPrice, (q) => `${q.pair}#${++runs}`);
    await queryBus.askCached(new GetPrice('A'));
    await queryBus.askCached(new GetPrice('B'));
    expect(await queryBus.invalidate(new GetPrice('A'))).toBe(true);
    expect(await queryBus.askCached(new GetPrice('A'))).toBe('A#3');
    expect(await queryBus.askCached(new GetPrice('B'))).toBe('B#2');
    await queryBus.invalidateType(GetPrice);
    expect(await queryBus.askCached(new GetPrice('B'))).toBe('B#4');
  });

  test('a cache store that throws degrades to the handler, is logged and counted', async () => {
    const logger = memoryLogger();
    const { queryBus } = createCqrs({ logger, cache: new BrokenCache() });
    queryBus.register(GetPrice, (q) => q.pair);
    expect(await queryBus.askCached(new GetPrice('BTC/USD'))).toBe('BTC/USD');
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'Query cache unavailable, using the handler',
      'Query cache unavailable, using the handler',
    ]);
    expect(queryBus.cacheStats()).toMatchObject({ hits: 0, misses: 1, coalesced: 0, errors: 2 });
  });

  test('counts hits and misses', async () => {
    const { queryBus } = createCqrs({ logger: silentLogger, cache: new MapCache() });
    queryBus.register(GetPrice, (q) => q.pair);
    await queryBus.askCached(new GetPrice('A'));
    await queryBus.askCached(new GetPrice('A'));
    await queryBus.askCached(new GetPrice('A'));
    expect(queryBus.cacheStats()).toMatchObject({ hits: 2, misses: 1, coalesced: 0, errors: 0 });
  });
});

describe('QueryBus.askMultiple', () => {
  test('runs concurrently; an object gives typed results under the same keys', async () => {
    const { queryBus } = createCqrs({ logger: silentLogger });
    let running = 0;
    let peak = 0;
    queryBus.register(GetPrice, async (q) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 10));
      running -= 1;
      return q.pair;
    });
    queryBus.register(GetClock, () => 7);
    const results = await queryBus.askMultiple({
      btc: new GetPrice('BTC/USD'),
      eth: new GetPrice('ETH/USD'),
      clock: new GetClock(),
    });
    expectTypeOf(results).toEqualTypeOf<{ btc: string; eth: string; clock: number }>();
    expect(results).toEqual({ btc: 'BTC/USD', eth: 'ETH/USD', clock: 7 });
    expect(peak).toBe(2);
    const list = await queryBus.askMultiple([new GetPrice('X'), new GetClock()]);
    expectTypeOf(list).toEqualTypeOf<[string, number]>();
    expect(list).toEqual(['X', 7]);
  });

  test('a failure names the key that failed', async () => {
    const { queryBus } = createCqrs({ logger: silentLogger });
    queryBus.register(GetPrice, (q) => {
      if (q.pair === 'bad') throw new Error('no such pair');
      return q.pair;
    });
    const error = (await queryBus
      .askMultiple({ good: new GetPrice('BTC/USD'), broken: new GetPrice('bad') })
      .catch((e: unknown) => e)) as QueryExecutionError;
    expect(error).toBeInstanceOf(QueryExecutionError);
    expect(error.key).toBe('broken');
    expect(error.message).toContain('askMultiple[broken]');
    expect((error.cause as Error).message).toBe('no such pair');
  });
});

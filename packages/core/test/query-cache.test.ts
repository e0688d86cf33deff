import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CacheSingleFlight,
  type CacheStore,
  createCqrs,
  defineConfig,
  Query,
  silentLogger,
  stableKey,
} from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { closureKeyFunction, compileKeyFunction } from '../src/buses/cache-key';
import { MapCache, memoryLogger } from './fakes';

class GetDepth extends Query<{ pair: string; levels: number; run: number }> {
  static readonly messageType = 'test.GetDepth';
  constructor(
    readonly pair: string,
    readonly levels: number,
  ) {
    super();
  }
}

class Search extends Query<string[]> {
  static readonly messageType = 'test.Search';
  constructor(
    readonly text: string,
    readonly limit: number,
    readonly exact: boolean,
    readonly after?: unknown,
  ) {
    super();
  }
}

/** A MapCache whose leases live in this process, as a shared store's would across processes. */
class LeasingCache extends MapCache {
  readonly leases = new Map<string, { token: string; until: number }>();
  acquired = 0;
  failLeases = false;
  readonly singleFlight: CacheSingleFlight;

  constructor(leaseMs = 1000, pollMs = 5) {
    super();
    let next = 0;
    this.singleFlight = {
      leaseMs,
      pollMs,
      acquire: async (namespace, key) => {
        if (this.failLeases) throw new Error('leases down');
        const id = `${namespace}|${key}`;
        const held = this.leases.get(id);
        if (held !== undefined && held.until > Date.now()) return undefined;
        const token = `t${++next}`;
        this.leases.set(id, { token, until: Date.now() + leaseMs });
        this.acquired += 1;
        return token;
      },
      release: async (namespace, key, token) => {
        const id = `${namespace}|${key}`;
        if (this.leases.get(id)?.token === token) this.leases.delete(id);
      },
    };
  }
}

function depthApp(cache: CacheStore, handlerMs = 0) {
  let runs = 0;
  const app = createCqrs({ logger: silentLogger, cache, config: defineConfig({}) });
  app.queryBus.register(GetDepth, async (query) => {
    runs += 1;
    const run = runs;
    if (handlerMs > 0) await sleep(handlerMs);
    return { pair: query.pair, levels: query.levels, run };
  });
  return { app, runs: () => runs };
}

function total(stats: { hits: number; misses: number; coalesced: number }): number {
  return stats.hits + stats.misses + stats.coalesced;
}

describe('cache keys', () => {
  test('the key of a fixed query never changes (across processes and versions)', () => {
    const { app } = depthApp(new MapCache());
    app.queryBus.register(Search, () => []);
    // These literals are stored keys: changing them orphans every cached entry in production.
    expect(app.queryBus.cacheKeyOf(new GetDepth('BTC-USD', 10))).toBe('{"levels":10,"pair":"BTC-USD"}');
    expect(app.queryBus.cacheKeyOf(new GetDepth('BTC-USD', 10))).toBe('{"levels":10,"pair":"BTC-USD"}');
    expect(app.queryBus.cacheKeyOf(new Search('ü "q"\\', 2.5, false))).toBe(
      '{"exact":false,"limit":2.5,"text":"ü \\"q\\"\\\\"}',
    );
    expect(app.queryBus.cacheKeyOf(new Search('a', 1, true, { b: [1, 2n] }))).toBe(
      '{"after":{"b":[1,2n]},"exact":true,"limit":1,"text":"a"}',
    );
    expect(app.queryBus.cacheKeyOf(new GetDepth('x'.repeat(300), 1))).toBe(
      'sha256:336379fff713aabd6a939f2ebd0804963fe88e6c8885a01980c74b86fd051050',
    );
  });

  test('the compiled key of a class equals stableKey of the payload, whatever the field values', () => {
    const { app } = depthApp(new MapCache());
    app.queryBus.register(Search, () => []);
    const texts = [
      '',
      'plain',
      'quo"te',
      'back\\slash',
      'new\nline',
      '\u0001',
      '\ud800',
      '😀',
      'é',
      'x'.repeat(250),
    ];
    const numbers = [
      0,
      -0,
      1,
      -1.5,
      1e21,
      1e-7,
      Number.MAX_SAFE_INTEGER,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ];
    const afters: unknown[] = [undefined, null, 'cursor', 3, { z: 1, a: [true] }, new Date(0)];
    let checked = 0;
    for (const text of texts)
      for (const limit of numbers)
        for (const exact of [true, false])
          for (const after of afters) {
            // Twice each: the second call may come from the remembered last key.
            for (let time = 0; time < 2; time++) {
              const query = new Search(text, limit, exact, after);
              expect(app.queryBus.cacheKeyOf(query)).toBe(stableKey(query.toPayload()));
              checked += 1;
            }
          }
    // The generated key function and its closure fallback (no code generation) agree with stableKey.
    const names = Object.keys(new Search('a', 1, true, 1));
    const generated = compileKeyFunction(new Search('a', 1, true, 1))!;
    const closure = closureKeyFunction(names, [...names].sort());
    for (const text of texts)
      for (const limit of numbers) {
        const query = new Search(text, limit, true, 'c');
        const expected = Number.isFinite(limit) ? stableKey(query.toPayload()) : undefined;
        expect(generated(query)).toBe(expected);
        expect(closure(query)).toBe(expected);
        expect(closure(query)).toBe(expected);
      }
    const extra = Object.assign(new GetDepth('BTC-USD', 10), { venue: 'x' });
    expect(app.queryBus.cacheKeyOf(extra)).toBe(stableKey(extra.toPayload()));
    expect(app.queryBus.cacheKeyOf(new GetDepth('BTC-USD', 10))).not.toBe(app.queryBus.cacheKeyOf(extra));
    expect(checked).toBeGreaterThan(2000);
  });
});

describe('stale-while-revalidate', () => {
  test('a just-expired result is served (a hit) while one refresh runs in the background', async () => {
    const cache = new MapCache();
    const { app, runs } = depthApp(cache, 30);
    const options = { ttl: 0.1, staleWhileRevalidate: 60 };
    expect((await app.queryBus.askCached(new GetDepth('BTC-USD', 10), options)).run).toBe(1);
    expect((await app.queryBus.askCached(new GetDepth('BTC-USD', 10), options)).run).toBe(1);
    await sleep(150);
    // Stale now: five callers get the old result at once, one refresh runs.
    const stale = await Promise.all(
      Array.from({ length: 5 }, () => app.queryBus.askCached(new GetDepth('BTC-USD', 10), options)),
    );
    expect(stale.map((depth) => depth.run)).toEqual([1, 1, 1, 1, 1]);
    await sleep(80);
    expect(runs()).toBe(2);
    expect((await app.queryBus.askCached(new GetDepth('BTC-USD', 10), options)).run).toBe(2);
    const stats = app.queryBus.cacheStats();
    expect(stats).toMatchObject({ hits: 7, misses: 1, coalesced: 0, refreshes: 1, errors: 0 });
    expect(total(stats)).toBe(8);
  });

  test('a call without staleWhileRevalidate treats a stale result as a miss', async () => {
    const { app, runs } = depthApp(new MapCache());
    await app.queryBus.askCached(new GetDepth('BTC-USD', 10), { ttl: 0.05, staleWhileRevalidate: 60 });
    await sleep(80);
    expect((await app.queryBus.askCached(new GetDepth('BTC-USD', 10), { ttl: 60 })).run).toBe(2);
    expect(runs()).toBe(2);
    expect(app.queryBus.cacheStats()).toMatchObject({ hits: 0, misses: 2, refreshes: 0 });
  });

  test('a failing refresh is logged; the stale result is still served until it expires', async () => {
    const cache = new MapCache();
    const logger = memoryLogger();
    const app = createCqrs({ logger, cache });
    let runs = 0;
    app.queryBus.register(GetDepth, async (query) => {
      runs += 1;
      if (runs > 1) throw new Error('read model down');
      return { pair: query.pair, levels: query.levels, run: runs };
    });
    const options = { ttl: 0.05, staleWhileRevalidate: 60 };
    await app.queryBus.askCached(new GetDepth('BTC-USD', 10), options);
    await sleep(80);
    expect((await app.queryBus.askCached(new GetDepth('BTC-USD', 10), options)).run).toBe(1);
    await sleep(20);
    expect(logger.lines.some((line) => line.message.includes('refresh failed'))).toBe(true);
    expect((await app.queryBus.askCached(new GetDepth('BTC-USD', 10), options)).run).toBe(1);
    expect(total(app.queryBus.cacheStats())).toBe(3);
    await app.close();
  });

  test('staleWhileRevalidate must be a number of seconds >= 0', async () => {
    const { app } = depthApp(new MapCache());
    await expect(
      app.queryBus.askCached(new GetDepth('BTC-USD', 10), { staleWhileRevalidate: -1 }),
    ).rejects.toThrow(/staleWhileRevalidate/);
  });
});

describe('warming', () => {
  test('warm asks every query through the cache, counts failures and never throws', async () => {
    const cache = new MapCache();
    const { app, runs } = depthApp(cache);
    app.queryBus.register(Search, (query) => {
      if (query.text === 'bad') throw new Error('no index');
      return [query.text];
    });
    const warmed = await app.queryBus.warm([
      new GetDepth('BTC-USD', 10),
      new GetDepth('ETH-USD', 10),
      new Search('bad', 1, true),
    ]);
    expect(warmed).toEqual({ warmed: 2, failed: 1 });
    expect(runs()).toBe(2);
    await app.queryBus.askCached(new GetDepth('BTC-USD', 10));
    await app.queryBus.askCached(new GetDepth('ETH-USD', 10));
    expect(runs()).toBe(2);
    const stats = app.queryBus.cacheStats();
    expect(stats).toMatchObject({ hits: 2, misses: 3, coalesced: 0 });
    expect(total(stats)).toBe(5);
  });
});

describe('single flight across buses sharing a store with leases', () => {
  test('200 concurrent misses on 4 buses run the handler once; the rest are coalesced', async () => {
    const cache = new LeasingCache();
    let runs = 0;
    const apps = Array.from({ length: 4 }, () => {
      const app = createCqrs({ logger: silentLogger, cache });
      app.queryBus.register(GetDepth, async (query) => {
        runs += 1;
        await sleep(50);
        return { pair: query.pair, levels: query.levels, run: runs };
      });
      return app;
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        apps[index % 4]!.queryBus.askCached(new GetDepth('BTC-USD', 10)),
      ),
    );
    expect(runs).toBe(1);
    expect(new Set(results.map((result) => result.run))).toEqual(new Set([1]));
    const stats = apps.map((app) => app.queryBus.cacheStats());
    expect(stats.reduce((sum, s) => sum + s.misses, 0)).toBe(1);
    expect(stats.reduce((sum, s) => sum + total(s), 0)).toBe(200);
    expect(cache.leases.size).toBe(0);
  });

  test('a lease whose holder died is taken over once it expires: exactly one more run', async () => {
    const cache = new LeasingCache(200, 5);
    // A holder that took the lease and died before writing.
    expect(await cache.singleFlight.acquire('query:test.GetDepth', '{"levels":10,"pair":"BTC-USD"}')).toBe(
      't1',
    );
    const { app, runs } = depthApp(cache);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => app.queryBus.askCached(new GetDepth('BTC-USD', 10))),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(runs()).toBe(1);
    expect(results.every((result) => result.run === 1)).toBe(true);
    expect(app.queryBus.cacheStats()).toMatchObject({ misses: 1, coalesced: 19, hits: 0 });
  });

  test('leases that fail degrade to running the handler: counted as an error and a miss', async () => {
    const cache = new LeasingCache();
    cache.failLeases = true;
    const { app, runs } = depthApp(cache);
    expect((await app.queryBus.askCached(new GetDepth('BTC-USD', 10))).run).toBe(1);
    expect(runs()).toBe(1);
    expect(app.queryBus.cacheStats()).toMatchObject({ hits: 0, misses: 1, coalesced: 0, errors: 1 });
  });
});

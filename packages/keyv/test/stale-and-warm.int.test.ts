import { setTimeout as sleep } from 'node:timers/promises';
import { type Cqrs, createCqrs, defineConfig, Query, silentLogger } from '@finaegis/core';
import { createKeyvCacheStore, type KeyvCacheStore } from '@finaegis/keyv';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { assertRedisUp, deleteKeys, REDIS_URL, uniquePrefix } from './helpers';

class GetRate extends Query<{ pair: string; run: number }> {
  static readonly messageType = 'test.keyv.GetRate';
  constructor(readonly pair: string) {
    super();
  }
}

const stores: KeyvCacheStore[] = [];
const apps: Cqrs[] = [];
const prefixes: string[] = [];

/** `count` buses, each on its own Redis-backed store (as separate processes would be), one handler-run counter. */
function buses(label: string, count: number) {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  let runs = 0;
  const made = Array.from({ length: count }, () => {
    const store = createKeyvCacheStore({ redisUrl: REDIS_URL, keyPrefix: prefix, opTimeoutMs: 2000 });
    stores.push(store);
    const app = createCqrs({ cache: store, logger: silentLogger, config: defineConfig({}) });
    apps.push(app);
    app.queryBus.register(GetRate, async (query) => {
      runs += 1;
      const run = runs;
      await sleep(50);
      return { pair: query.pair, run };
    });
    return app;
  });
  return { apps: made, runs: () => runs };
}

beforeAll(async () => {
  await assertRedisUp();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await Promise.all(prefixes.splice(0).map((prefix) => deleteKeys(prefix)));
});

describe('stale-while-revalidate and warming on Redis', () => {
  test('a just-expired result is served by every bus while one refresh runs across them', async () => {
    const {
      apps: [first, second],
      runs,
    } = buses('swr', 2);
    const options = { ttl: 0.3, staleWhileRevalidate: 30 };
    expect((await first!.queryBus.askCached(new GetRate('BTC/USD'), options)).run).toBe(1);
    await sleep(400);
    const served = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? first! : second!).queryBus.askCached(new GetRate('BTC/USD'), options),
      ),
    );
    expect(served.every((rate) => rate.run === 1)).toBe(true);
    await sleep(300);
    expect(runs()).toBe(2);
    expect((await second!.queryBus.askCached(new GetRate('BTC/USD'), options)).run).toBe(2);
    const stats = [first!, second!].map((app) => app.queryBus.cacheStats());
    expect(stats.reduce((sum, s) => sum + s.refreshes, 0)).toBe(1);
    expect(stats.reduce((sum, s) => sum + s.hits + s.misses + s.coalesced, 0)).toBe(22);
    expect(stats.reduce((sum, s) => sum + s.misses, 0)).toBe(1);
  }, 30_000);

  test('three buses warming the same queries at start-up run each handler once', async () => {
    const { apps: three, runs } = buses('warm', 3);
    const queries = () => [new GetRate('BTC/USD'), new GetRate('ETH/USD'), new GetRate('SOL/USD')];
    const warmed = await Promise.all(three.map((app) => app.queryBus.warm(queries(), { ttl: 60 })));
    expect(warmed).toEqual([
      { warmed: 3, failed: 0 },
      { warmed: 3, failed: 0 },
      { warmed: 3, failed: 0 },
    ]);
    expect(runs()).toBe(3);
    for (const app of three) await app.queryBus.askCached(new GetRate('ETH/USD'), { ttl: 60 });
    expect(runs()).toBe(3);
    const stats = three.map((app) => app.queryBus.cacheStats());
    expect(stats.reduce((sum, s) => sum + s.misses, 0)).toBe(3);
    expect(stats.reduce((sum, s) => sum + s.hits + s.misses + s.coalesced, 0)).toBe(12);
  }, 30_000);
});

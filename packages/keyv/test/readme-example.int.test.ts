// The README's example (its first two imports, then the block below), kept here so it keeps
// compiling and working.
import { createCqrs, Query } from '@finaegis/core';
import { createKeyvCacheStore } from '@finaegis/keyv';
import { afterAll, expect, test } from 'vitest';
import { deleteKeys, REDIS_URL } from './helpers';

// --- README example start ---

class GetBestBid extends Query<string | null> {
  static readonly messageType = 'exchange.GetBestBid';
  constructor(readonly pair: string) {
    super();
  }
}

const cache = createKeyvCacheStore({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
const app = createCqrs({ cache });
app.queryBus.register(GetBestBid, async () => '64000.00');

const bid = await app.queryBus.askCached(new GetBestBid('BTC/USD'), { ttl: 5 }); // runs the handler
await app.queryBus.askCached(new GetBestBid('BTC/USD'), { ttl: 5 }); // a hit, in any process on this Redis
await app.queryBus.invalidateType(GetBestBid); // every process misses from now on
console.log(bid, cache.stats()); // 64000.00 { hits: 1, misses: 1, errors: 0 }
await app.close(); // closes the cache store too
// --- README example end ---

afterAll(async () => {
  await deleteKeys('finaegis:{query:exchange.GetBestBid}', REDIS_URL);
});

test('the README example caches, counts and closes', async () => {
  expect(bid).toBe('64000.00');
  const stats = cache.stats();
  // On an overloaded machine the first operation (which also connects) can exceed the default
  // 250 ms budget; the bus then runs the handler, which is the behaviour the budget is for.
  if (stats.errors === 0) expect(stats).toEqual({ hits: 1, misses: 1, errors: 0 });
  else expect(stats.hits + stats.misses + stats.errors).toBeGreaterThanOrEqual(2);
  await expect(cache.get('query:exchange.GetBestBid', '{"pair":"BTC/USD"}')).rejects.toMatchObject({
    reason: 'closed',
  });
});

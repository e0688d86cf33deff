// One contender of the askCached-hit instruction count: `node cached-instructions.mjs <variant> <count>`
// answers <count> awaited hits of GetDepth('BTC-USD', 10) from one MemoryCacheStore, then exits.
// Run by count-cached-instructions.mjs under callgrind.
import { createCqrs, Query, silentLogger } from '@finaegis/core';
import { createMemoryCacheStore } from '@finaegis/memory';

class GetDepth extends Query {
  static messageType = 'bench.GetDepth';
  constructor(pair, levels) {
    super();
    this.pair = pair;
    this.levels = levels;
  }
}

/** The same query with its own key: the fast path of a query that supplies `cacheKey()`. */
class GetDepthOwnKey extends GetDepth {
  static messageType = 'bench.GetDepthOwnKey';
  cacheKey() {
    return `${this.pair}:${this.levels}`;
  }
}

const book = { pair: 'BTC-USD', levels: 10, bids: [], asks: [] };
const cache = createMemoryCacheStore({ sweepIntervalMs: 0 });
const app = createCqrs({ logger: silentLogger, cache });
app.queryBus.register(GetDepth, { handle: () => book });
app.queryBus.register(GetDepthOwnKey, { handle: () => book });

// The direct column of the core suite: cache-aside by hand with a hand-written key.
async function direct(query) {
  const key = `${query.pair}:${query.levels}`;
  const hit = await cache.get('bench:depth', key);
  if (hit !== undefined) return hit.value;
  const depth = book;
  await cache.set('bench:depth', key, depth, 3600);
  return depth;
}

// Two pairs in turn: the key is never the one remembered from the call before.
const pairs = ['BTC-USD', 'ETH-USD'];
let turn = 0;
const nextPair = () => pairs[turn++ & 1];

const variants = {
  oursTwoKeys: () => app.queryBus.askCached(new GetDepth(nextPair(), 10)),
  directTwoKeys: () => direct(new GetDepth(nextPair(), 10)),
  ours: () => app.queryBus.askCached(new GetDepth('BTC-USD', 10)),
  oursOwnKey: () => app.queryBus.askCached(new GetDepthOwnKey('BTC-USD', 10)),
  direct: () => direct(new GetDepth('BTC-USD', 10)),
};
const [variant = 'ours', countText = '10000'] = process.argv.slice(2);
const run = variants[variant];
if (run === undefined) throw new Error(`unknown variant ${variant}`);
const count = Number(countText);
await run();
await run();
const before = app.queryBus.cacheStats().hits;
let levels = 0;
for (let i = 0; i < count; i++) levels += (await run()).levels;
if (levels !== count * 10) throw new Error('a call did not return the book');
if (variant === 'ours' && app.queryBus.cacheStats().hits !== before + count)
  throw new Error('not every call hit');
await app.close();
await cache.close();

import { setTimeout as sleep } from 'node:timers/promises';
import { createKeyvCacheStore, type KeyvCacheStore } from '@finaegis/keyv';
import { createKeyv } from '@keyv/redis';
import type { Keyv } from 'keyv';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { assertRedisUp, deleteKeys, keysUnder, REDIS_URL, uniquePrefix } from './helpers';

const opened: KeyvCacheStore[] = [];
const keyvs: Keyv[] = [];
const prefixes: string[] = [];

function open(label: string, prefix = uniquePrefix(label)): KeyvCacheStore {
  prefixes.push(prefix);
  // A roomy budget: these tests are about behaviour, and the machine running them may be busy.
  const store = createKeyvCacheStore({ redisUrl: REDIS_URL, keyPrefix: prefix, opTimeoutMs: 2000 });
  opened.push(store);
  return store;
}

beforeAll(async () => {
  await assertRedisUp();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await Promise.all(keyvs.splice(0).map((keyv) => keyv.disconnect()));
  await Promise.all(prefixes.splice(0).map((prefix) => deleteKeys(prefix)));
});

describe('keyv cache store on Redis', () => {
  test('round-trips JSON values with dates, and tells cached null from a miss', async () => {
    const store = open('roundtrip');
    const at = new Date('2024-01-02T03:04:05.006Z');
    expect(await store.get('query:Depth', 'BTC/USD')).toBeUndefined();
    await store.set('query:Depth', 'BTC/USD', { bids: [['100.5', '2']], asks: [], at }, 60);
    await store.set('query:Depth', 'none', null, 60);
    const hit = await store.get('query:Depth', 'BTC/USD');
    expect(hit?.value).toEqual({ bids: [['100.5', '2']], asks: [], at });
    expect(await store.get('query:Depth', 'none')).toEqual({ value: null });
    expect(store.stats()).toEqual({ hits: 2, misses: 1, errors: 0 });
  });

  test('entries carry the TTL in Redis and expire', async () => {
    const prefix = uniquePrefix('ttl');
    const store = open('ttl', prefix);
    await store.set('q', 'k', 'v', 1);
    const [entryKey] = (await keysUnder(prefix)).filter((key) => key.includes(':e:'));
    expect(entryKey).toBeDefined();
    await sleep(1300);
    expect(await store.get('q', 'k')).toBeUndefined();
    // Redis removed it itself: nothing is left behind for a scan to find.
    expect((await keysUnder(prefix)).filter((key) => key.includes(':e:'))).toEqual([]);
  });

  test('keys live under the prefix, one generation key per namespace, hash-tagged by namespace', async () => {
    const prefix = uniquePrefix('layout');
    const store = open('layout', prefix);
    await store.set('query:exchange.GetOrderBook', 'a', 1, 60);
    await store.set('query:exchange.GetOrderBook', 'b', 2, 60);
    expect(await keysUnder(prefix)).toEqual([
      `${prefix}{query:exchange.GetOrderBook}:e:a`,
      `${prefix}{query:exchange.GetOrderBook}:e:b`,
      `${prefix}{query:exchange.GetOrderBook}:v`,
    ]);
    // clear rewrites only the generation key; the old entries miss and age out by TTL.
    await store.clear('query:exchange.GetOrderBook');
    expect(await keysUnder(prefix)).toHaveLength(3);
    expect(await store.get('query:exchange.GetOrderBook', 'a')).toBeUndefined();
    expect(await store.get('query:exchange.GetOrderBook', 'b')).toBeUndefined();
  });

  test('two stores on separate connections share values, deletes and clears', async () => {
    const prefix = uniquePrefix('shared');
    const first = open('shared', prefix);
    const second = open('shared', prefix);
    await first.set('q', 'k', { n: 1 }, 60);
    await first.set('q', 'other', { n: 2 }, 60);
    expect(await second.get('q', 'k')).toEqual({ value: { n: 1 } });
    expect(await second.delete('q', 'k')).toBe(true);
    expect(await first.get('q', 'k')).toBeUndefined();
    await second.clear('q');
    expect(await first.get('q', 'other')).toBeUndefined();
    await first.set('q', 'other', { n: 3 }, 60);
    expect(await second.get('q', 'other')).toEqual({ value: { n: 3 } });
  });

  test('a Keyv instance built by the caller on @keyv/redis works too and is left open on close', async () => {
    const prefix = uniquePrefix('caller-keyv');
    prefixes.push(prefix);
    const keyv = createKeyv(REDIS_URL, { namespace: prefix, throwOnErrors: true });
    keyvs.push(keyv);
    const store = createKeyvCacheStore({ keyv });
    await store.set('q', 'k', [1, 2, 3], 60);
    expect(await store.get('q', 'k')).toEqual({ value: [1, 2, 3] });
    expect(await keysUnder(prefix)).toContain(`${prefix}::finaegis:{q}:e:k`);
    await store.close();
    expect(await keyv.set('still-open', 1)).toBe(true);
  });

  test('close disconnects the client it opened and is idempotent', async () => {
    const store = open('close');
    await store.set('q', 'k', 1, 60);
    await Promise.all([store.close(), store.close()]);
    await expect(store.get('q', 'k')).rejects.toMatchObject({ reason: 'closed' });
  });

  test('a store closed before its first operation never connects', async () => {
    const store = open('unused');
    await store.close();
    await expect(store.set('q', 'k', 1, 60)).rejects.toMatchObject({ reason: 'closed' });
  });
});

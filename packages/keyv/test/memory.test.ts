import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, InvalidArgumentError } from '@finaegis/core';
import { CacheStoreError, createKeyvCacheStore, type KeyvCacheStore } from '@finaegis/keyv';
import { Keyv } from 'keyv';
import { afterEach, describe, expect, test } from 'vitest';

const opened: KeyvCacheStore[] = [];
function open(...args: Parameters<typeof createKeyvCacheStore>): KeyvCacheStore {
  const store = createKeyvCacheStore(...args);
  opened.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

describe('keyv cache store on the in-process Map', () => {
  test('a miss is undefined and a hit is wrapped, so cached null and undefined are hits', async () => {
    const store = open();
    expect(await store.get('q', 'absent')).toBeUndefined();
    await store.set('q', 'null', null, 60);
    await store.set('q', 'undefined', undefined, 60);
    await store.set('q', 'zero', 0, 60);
    expect(await store.get('q', 'null')).toEqual({ value: null });
    const undefinedHit = await store.get('q', 'undefined');
    expect(undefinedHit).toBeDefined();
    expect(undefinedHit).toHaveProperty('value', undefined);
    expect(await store.get('q', 'zero')).toEqual({ value: 0 });
  });

  test('values come back as JSON with dates and bigints kept', async () => {
    const store = open();
    const at = new Date('2024-05-06T07:08:09.010Z');
    const value = { pair: 'BTC/USD', amount: '0.0001', at, count: 12345678901234567890n, levels: [[1, 'a']] };
    await store.set('q', 'k', value, 60);
    const hit = await store.get('q', 'k');
    expect(hit).toBeDefined();
    const got = hit?.value as typeof value;
    expect(got).toEqual(value);
    expect(got.at).toBeInstanceOf(Date);
    // Stored as JSON, so the caller's object is not shared with the cache.
    expect(got).not.toBe(value);
  });

  test('an entry expires after its TTL', async () => {
    const store = open();
    await store.set('q', 'short', 'v', 0.05);
    await store.set('q', 'long', 'v', 60);
    await sleep(120);
    expect(await store.get('q', 'short')).toBeUndefined();
    expect(await store.get('q', 'long')).toEqual({ value: 'v' });
  });

  test('delete removes one entry and tells whether it existed', async () => {
    const store = open();
    await store.set('q', 'a', 1, 60);
    await store.set('q', 'b', 2, 60);
    expect(await store.delete('q', 'a')).toBe(true);
    expect(await store.delete('q', 'a')).toBe(false);
    expect(await store.get('q', 'a')).toBeUndefined();
    expect(await store.get('q', 'b')).toEqual({ value: 2 });
  });

  test('clear empties one namespace and leaves the others', async () => {
    const store = open();
    await store.set('query:A', 'k', 'a', 60);
    await store.set('query:B', 'k', 'b', 60);
    await store.clear('query:A');
    expect(await store.get('query:A', 'k')).toBeUndefined();
    expect(await store.get('query:B', 'k')).toEqual({ value: 'b' });
    // After a clear the namespace caches again.
    await store.set('query:A', 'k', 'a2', 60);
    expect(await store.get('query:A', 'k')).toEqual({ value: 'a2' });
    // An entry of a cleared generation is not reported as deleted.
    await store.clear('query:A');
    expect(await store.delete('query:A', 'k')).toBe(false);
  });

  test('clear is a single generation write, not a scan: old entries stay until their TTL but miss', async () => {
    const keyv = new Keyv();
    const store = open(keyv);
    await store.set('q', 'k', 'v', 60);
    const sizeBefore = (keyv.store as Map<string, unknown>).size;
    await store.clear('q');
    expect((keyv.store as Map<string, unknown>).size).toBe(sizeBefore);
    expect(await store.get('q', 'k')).toBeUndefined();
  });

  test('two stores sharing one Keyv see each other’s values and clears', async () => {
    const keyv = new Keyv();
    const first = open({ keyv });
    const second = open({ keyv });
    await first.set('q', 'k', { n: 1 }, 60);
    expect(await second.get('q', 'k')).toEqual({ value: { n: 1 } });
    await second.clear('q');
    expect(await first.get('q', 'k')).toBeUndefined();
  });

  test('namespaces and keys that contain separators do not collide', async () => {
    const store = open();
    await store.set('a', 'b}:e:c', 1, 60);
    await store.set('a}:e:b', 'c', 2, 60);
    await store.set('a%7D', 'x', 3, 60);
    await store.set('a}', 'x', 4, 60);
    expect(await store.get('a', 'b}:e:c')).toEqual({ value: 1 });
    expect(await store.get('a}:e:b', 'c')).toEqual({ value: 2 });
    expect(await store.get('a%7D', 'x')).toEqual({ value: 3 });
    expect(await store.get('a}', 'x')).toEqual({ value: 4 });
    await store.clear('a}');
    expect(await store.get('a}', 'x')).toBeUndefined();
    expect(await store.get('a%7D', 'x')).toEqual({ value: 3 });
  });

  test('stats count hits, misses and errors', async () => {
    const store = open();
    await store.set('q', 'k', 'v', 60);
    await store.get('q', 'k');
    await store.get('q', 'k');
    await store.get('q', 'nope');
    await store.close();
    await expect(store.get('q', 'k')).rejects.toBeInstanceOf(CacheStoreError);
    expect(store.stats()).toEqual({ hits: 2, misses: 1, errors: 1 });
  });

  test('bad input is a typed error', async () => {
    const store = open();
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = await store.set('q', 'k', 'v', ttl).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ argument: 'ttlSeconds', adapter: '@finaegis/keyv' });
    }
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(store.set('q', 'k', circular, 60)).rejects.toMatchObject({ argument: 'value' });
    expect(store.stats().errors).toBe(5);
    expect(() => createKeyvCacheStore({ keyv: new Keyv(), redisUrl: 'redis://127.0.0.1:6379' })).toThrow(
      ConfigError,
    );
    expect(() => createKeyvCacheStore({ opTimeoutMs: -1 })).toThrow(/opTimeoutMs/);
    const badPrefix = (() => {
      try {
        createKeyvCacheStore({ keyPrefix: 'a{b' });
      } catch (error) {
        return error;
      }
    })();
    expect(badPrefix).toMatchObject({ name: 'ConfigError', key: 'keyPrefix', adapter: '@finaegis/keyv' });
  });

  test('an entry someone else wrote under our key is reported as corrupt, not returned', async () => {
    const keyv = new Keyv();
    const store = open({ keyv, keyPrefix: 'p:' });
    await store.set('q', 'k', 'v', 60);
    const generation = (await keyv.get('p:{q}:v')) as string;
    await keyv.set('p:{q}:e:k', `${generation}|{not json`);
    await expect(store.get('q', 'k')).rejects.toMatchObject({ reason: 'corrupt-entry' });
    await keyv.set('p:{q}:e:k', { not: 'a string' });
    await expect(store.get('q', 'k')).rejects.toMatchObject({ reason: 'corrupt-entry' });
    // Deleting removes it (it was not a live entry), and overwriting repairs it.
    expect(await store.delete('q', 'k')).toBe(false);
    expect(await keyv.get('p:{q}:e:k')).toBeUndefined();
    await keyv.set('p:{q}:e:k', `${generation}|{not json`);
    await store.set('q', 'k', 'v2', 60);
    expect(await store.get('q', 'k')).toEqual({ value: 'v2' });
  });

  test('a decoded entry cannot carry prototype-polluting keys', async () => {
    const keyv = new Keyv();
    const store = open({ keyv, keyPrefix: 'p:' });
    await store.set('q', 'k', 'v', 60);
    const generation = (await keyv.get('p:{q}:v')) as string;
    await keyv.set('p:{q}:e:k', `${generation}|{"__proto__":{"polluted":true}}`);
    await expect(store.get('q', 'k')).rejects.toMatchObject({ reason: 'corrupt-entry' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('close is idempotent and later operations reject as closed', async () => {
    const store = open();
    await store.close();
    await store.close();
    await expect(store.set('q', 'k', 1, 60)).rejects.toMatchObject({ reason: 'closed' });
    await expect(store.clear('q')).rejects.toMatchObject({ reason: 'closed' });
    await expect(store.delete('q', 'k')).rejects.toMatchObject({ reason: 'closed' });
  });

  test('closing never disconnects a Keyv instance the caller passed in', async () => {
    const keyv = new Keyv();
    const store = createKeyvCacheStore(keyv);
    await store.set('q', 'k', 1, 60);
    await store.close();
    expect(await keyv.set('other', 1)).toBe(true);
    expect(await keyv.get('other')).toBe(1);
  });
});

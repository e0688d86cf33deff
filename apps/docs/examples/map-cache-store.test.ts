// A third-party adapter checked against the contract suite: a cache store kept in a Map, and the
// test file that runs `cacheStoreContract` against it. `pnpm test` runs this file.
// #region adapter
import type { CacheStore } from '@finaegis/core';

interface Entry {
  readonly value: unknown;
  readonly expiresAt: number;
}

/** A cache store in one Map per namespace; an entry expires when read after its time. */
export function createMapCacheStore(): CacheStore {
  const namespaces = new Map<string, Map<string, Entry>>();
  return {
    name: 'map',
    async get(namespace, key) {
      const entry = namespaces.get(namespace)?.get(key);
      if (entry === undefined || entry.expiresAt <= Date.now()) return undefined;
      return { value: entry.value }; // a cached undefined or null is a hit, not a miss
    },
    async set(namespace, key, value, ttlSeconds) {
      const entries = namespaces.get(namespace) ?? new Map<string, Entry>();
      namespaces.set(namespace, entries);
      entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
    },
    async delete(namespace, key) {
      return namespaces.get(namespace)?.delete(key) ?? false;
    },
    async clear(namespace) {
      namespaces.delete(namespace);
    },
    async close() {},
  };
}

// #endregion adapter

// #region contract
import { cacheStoreContract } from '@finaegis/contract-tests';
import { describe, expect, test } from 'vitest';

cacheStoreContract({ describe, test, expect }, { name: 'map', create: async () => createMapCacheStore() });
// #endregion contract

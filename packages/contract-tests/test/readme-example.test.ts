import { cacheStoreContract } from '@finaegis/contract-tests';
import type { CacheStore } from '@finaegis/core';
import { describe, expect, test } from 'vitest';

/** A tiny third-party cache store: one Map per namespace, expiry checked on read. */
class MapCacheStore implements CacheStore {
  readonly name = 'map';
  private readonly namespaces = new Map<string, Map<string, { value: unknown; expiresAt: number }>>();

  async get(namespace: string, key: string) {
    const entry = this.namespaces.get(namespace)?.get(key);
    if (!entry || entry.expiresAt <= Date.now()) return undefined;
    return { value: entry.value };
  }

  async set(namespace: string, key: string, value: unknown, ttlSeconds: number) {
    let entries = this.namespaces.get(namespace);
    if (!entries) {
      entries = new Map();
      this.namespaces.set(namespace, entries);
    }
    entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async delete(namespace: string, key: string) {
    return this.namespaces.get(namespace)?.delete(key) ?? false;
  }

  async clear(namespace: string) {
    // Dropping the namespace's map clears it at once, whatever its size.
    this.namespaces.delete(namespace);
  }

  async close() {}
}

cacheStoreContract({ describe, test, expect }, { name: 'map', create: async () => new MapCacheStore() });

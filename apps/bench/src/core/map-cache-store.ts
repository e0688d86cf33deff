import type { CacheStore } from '@finaegis/core';

interface Entry {
  readonly value: unknown;
  readonly expiresAt: number;
}

/**
 * A stand-in for `MemoryCacheStore` of @finaegis/memory while that package is unreleased: one Map
 * per namespace, entries kept by reference, expiry checked on read. Every contender of the
 * askCached row uses the same store, so what it costs weighs on all of them alike.
 */
export class MapCacheStore implements CacheStore {
  readonly name = 'bench-map';
  readonly #namespaces = new Map<string, Map<string, Entry>>();

  async get(namespace: string, key: string): Promise<{ readonly value: unknown } | undefined> {
    const entry = this.#namespaces.get(namespace)?.get(key);
    if (entry === undefined || entry.expiresAt <= Date.now()) return undefined;
    return { value: entry.value };
  }

  async set(namespace: string, key: string, value: unknown, ttlSeconds: number): Promise<void> {
    let entries = this.#namespaces.get(namespace);
    if (entries === undefined) this.#namespaces.set(namespace, (entries = new Map()));
    entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    return this.#namespaces.get(namespace)?.delete(key) ?? false;
  }

  async clear(namespace: string): Promise<void> {
    this.#namespaces.delete(namespace);
  }

  async close(): Promise<void> {}
}

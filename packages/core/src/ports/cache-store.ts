/**
 * The CacheStore port: where `askCached` keeps query results.
 *
 * Entries live in namespaces (the query bus uses `<cachePrefix>:<query wire name>`), so that every
 * cached result of one query type can be dropped at once. Values are JSON-compatible (the query
 * bus stores handler results, which may be `null`). Adapters may serialise values; the memory
 * store keeps them by reference.
 *
 * A cache failure must never fail a query: the query bus catches what a store throws, logs it and
 * runs the handler. Stores should therefore fail fast (time out) rather than hang.
 */
export interface CacheStore {
  /** Adapter name for logs and errors, e.g. `memory`, `keyv`. */
  readonly name: string;

  /**
   * The entry under `key` in `namespace`, or `undefined` on a miss. A hit is wrapped so that a
   * cached `null` or `undefined` is told apart from a miss. Expired entries are misses.
   */
  get(namespace: string, key: string): Promise<{ readonly value: unknown } | undefined>;

  /** Stores a value for `ttlSeconds` (> 0). A later `get` within the TTL returns it. */
  set(namespace: string, key: string, value: unknown, ttlSeconds: number): Promise<void>;

  /** Removes one entry; resolves `true` when it existed. */
  delete(namespace: string, key: string): Promise<boolean>;

  /**
   * Makes every entry of a namespace a miss, in every process sharing the store, without
   * scanning all keys (for example by bumping a namespace version).
   */
  clear(namespace: string): Promise<void>;

  /** Closes connections the store opened itself. Idempotent. */
  close(): Promise<void>;
}

/** Hit/miss counters a cache store (or the query bus) may expose for the hit-rate metric. */
export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly errors: number;
}

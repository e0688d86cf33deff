import type { HealthCheck } from './health';

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

  /**
   * Optional: whether the store answers now (its backend reachable). Resolves within a few seconds
   * and never rejects. A cache that is down degrades queries to their handlers; it does not make an
   * application unready.
   */
  health?(): Promise<readonly HealthCheck[]>;

  /** Closes connections the store opened itself. Idempotent. */
  close(): Promise<void>;

  /**
   * Optional: short per-entry leases shared by every process using the store, so that on a miss
   * the query bus runs the handler once per key across all of them. Absent, the bus coalesces
   * identical misses within its own process only (the memory store has nothing to share).
   */
  readonly singleFlight?: CacheSingleFlight;
}

/**
 * Per-entry leases (a store capability, see `CacheStore.singleFlight`). On a miss the query bus
 * takes the key's lease, runs the handler, writes the result and releases the lease; a process that
 * finds the lease taken reads the entry every `pollMs` until the result lands, and takes the lease
 * over once it has expired (its holder died or overran `leaseMs`).
 */
export interface CacheSingleFlight {
  /** How long a lease lasts when its holder never releases it, in milliseconds. Longer than the slowest handler. */
  readonly leaseMs: number;
  /** How often a waiting process looks for the result (and for an expired lease), in milliseconds. */
  readonly pollMs: number;

  /**
   * Takes the lease of `key` in `namespace` for `leaseMs`, atomically across every process sharing
   * the store. Resolves a token unique to this holder when taken, `undefined` when another holder
   * has it and it has not expired. Rejects (fast, like every store operation) when the backend
   * fails; the bus then runs the handler without a lease.
   */
  acquire(namespace: string, key: string): Promise<string | undefined>;

  /**
   * Gives the lease up if `token` still holds it (never a lease taken over by another holder after
   * this one expired). Idempotent; resolves whether or not the lease was still held.
   */
  release(namespace: string, key: string, token: string): Promise<void>;
}

/** Hit/miss counters a cache store (or the query bus) may expose for the hit-rate metric. */
export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly errors: number;
}

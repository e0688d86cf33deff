import { CommandValidationError } from '../errors/command-validation-error';
import { QueryExecutionError } from '../errors/query-execution-error';
import { Message, messageTypeOf, type Query } from '../messages';
import type { CacheStats, CacheStore } from '../ports/cache-store';
import { compileKeyFunction, type KeyFunction, stableKey } from './cache-key';
import type { MiddlewareContext } from './middleware';
import type { BusContext } from './shared';

/** @internal A registered query class, as the bus and its cache see it. */
export interface Entry {
  readonly type: string;
  namespace?: string;
  readonly call: (query: Query<unknown>) => Promise<unknown>;
  /** The class's compiled key function; `null` when its keys take the general path; unset until first asked. */
  keyOf?: KeyFunction | null;
}

/** One askCached call past its checks, as the miss paths need it. */
class Ask {
  constructor(
    readonly entry: Entry,
    readonly query: Query<unknown>,
    readonly namespace: string,
    readonly key: string,
    readonly ttl: number,
    readonly stale: number,
    readonly context: MiddlewareContext | undefined,
  ) {}
}

export const NO_OPTIONS: AskCachedOptions = Object.freeze({});
const NONE: unique symbol = Symbol('none');

// A result cached with staleWhileRevalidate is kept in this envelope, so that every process can tell
// when it stops being fresh (the store's TTL is the end of the stale window).
const ENVELOPE_MARK = '@finaegis/swr';
interface StaleEnvelope {
  readonly [ENVELOPE_MARK]: 1;
  readonly freshUntil: number;
  readonly value: unknown;
}

function isEnvelope(value: unknown): value is StaleEnvelope {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Partial<StaleEnvelope>)[ENVELOPE_MARK] === 1 &&
    typeof (value as Partial<StaleEnvelope>).freshUntil === 'number'
  );
}

export function generalKey(query: Query<unknown>): string {
  return query.cacheKey?.() ?? stableKey(query.toPayload());
}

export function safeTypeOf(query: Query<unknown>): string {
  try {
    return messageTypeOf(query);
  } catch {
    return 'unknown query';
  }
}

/** Options of `queryBus.askCached` (and `warm`). Durations are seconds, as in the guide. */
export interface AskCachedOptions {
  /** Seconds; default: the query's `cacheTtl()`, then `queryBus.defaultTtl`. */
  readonly ttl?: number;
  /**
   * Seconds after `ttl` during which an expired result is still served (counted as a hit) while one
   * refresh runs in the background (counted in `refreshes`). Default 0: off. Results cached with it
   * are kept with their fresh-until time; a call without it treats such a result past that time as
   * a miss.
   */
  readonly staleWhileRevalidate?: number;
}

/**
 * The query bus's cache counters. Every `askCached` call that reached a registered handler counts
 * exactly once: as a hit (answered from the cache), as coalesced (it shared the handler run of an
 * identical call already in flight), or as a miss (the handler ran for it; calls that bypass the
 * cache count here too). So `hits + misses + coalesced` is the number of such calls, and the
 * guide's hit rate is `hits / (hits + misses + coalesced)`. The log line of a coalesced call says
 * `"cached":false,"coalesced":true`.
 *
 * On every path: a result served from the cache is a hit, a stale one served under
 * `staleWhileRevalidate` included; a call that waited on another process's lease
 * (`CacheStore.singleFlight`) and received the result that process wrote is coalesced, as is a
 * call that found the result already written once it took the lease; a call that ran the handler
 * is a miss (also when the store failed and the handler ran anyway). `warm` asks through
 * `askCached`, so its calls count the same way.
 */
export interface QueryCacheStats extends CacheStats {
  readonly coalesced: number;
  /** Invalidations the store failed or timed out on (retried in the background). */
  readonly invalidationFailures: number;
  /**
   * Background refreshes of stale results started by this bus (`staleWhileRevalidate`). Not
   * askCached calls: the call that served the stale result counted as a hit.
   */
  readonly refreshes: number;
}

export function wrapQueryError(type: string, error: unknown): Error {
  if (error instanceof CommandValidationError || error instanceof QueryExecutionError) return error;
  return new QueryExecutionError(type, error);
}

/**
 * @internal The cache in front of the query bus's handlers: keys, lookups, the miss paths (single
 * flight in this process and, with a store's leases, across processes), stale-while-revalidate,
 * and the counters that `cacheStats()` reports.
 */
export class QueryCache {
  readonly #context: BusContext;
  readonly #inFlight = new Map<string, Promise<unknown>>();
  #hits = 0;
  #misses = 0;
  #coalesced = 0;
  #errors = 0;
  #refreshes = 0;
  #warnedNoCache = false;

  constructor(context: BusContext) {
    this.#context = context;
  }

  stats(): { hits: number; misses: number; coalesced: number; errors: number; refreshes: number } {
    return {
      hits: this.#hits,
      misses: this.#misses,
      coalesced: this.#coalesced,
      errors: this.#errors,
      refreshes: this.#refreshes,
    };
  }

  // The key of a query of a registered class: its own cacheKey(), else the class's compiled key
  // function (made from the first instance asked), else the general walk. All give the same key.
  keyOf(entry: Entry, query: Query<unknown>): string {
    if (query.cacheKey !== undefined) {
      const own = query.cacheKey();
      if (own !== undefined && own !== null) return own;
    }
    let keyOf = entry.keyOf;
    if (keyOf === undefined) {
      // A class that shapes its own payload keeps the general path (the key is of the payload).
      keyOf = entry.keyOf =
        query.toPayload === Message.prototype.toPayload ? (compileKeyFunction(query) ?? null) : null;
    }
    if (keyOf !== null) {
      const key = keyOf(query);
      if (key !== undefined) return key;
    }
    return stableKey(query.toPayload());
  }

  cached(
    entry: Entry,
    query: Query<unknown>,
    options: AskCachedOptions,
    context: MiddlewareContext | undefined,
  ): Promise<unknown> {
    const cache = this.#context.cache;
    if (cache === undefined || (query.cacheable !== undefined && query.cacheable() === false)) {
      if (cache === undefined && !this.#warnedNoCache) {
        this.#warnedNoCache = true;
        this.#context.logger.warn('askCached without a cache store: running the handler every time', {
          query: entry.type,
        });
      }
      if (context !== undefined) context.cached = false;
      this.#misses += 1;
      return entry.call(query);
    }
    const ttl =
      options.ttl ??
      (query.cacheTtl === undefined ? undefined : query.cacheTtl()) ??
      this.#context.config.queryBus.defaultTtl;
    const stale = options.staleWhileRevalidate ?? 0;
    if (!(ttl > 0 && ttl < Number.POSITIVE_INFINITY) || !(stale >= 0 && stale < Number.POSITIVE_INFINITY)) {
      this.#misses += 1;
      const what =
        ttl > 0 && ttl < Number.POSITIVE_INFINITY
          ? `staleWhileRevalidate must be >= 0 seconds, got ${stale}`
          : `ttl must be > 0 seconds, got ${ttl}`;
      return Promise.reject(new QueryExecutionError(entry.type, new RangeError(what)));
    }
    const namespace = (entry.namespace ??= `${this.#context.config.queryBus.cachePrefix}:${entry.type}`);
    let key: string;
    try {
      key = this.keyOf(entry, query);
    } catch (error) {
      this.#misses += 1;
      return Promise.reject(wrapQueryError(entry.type, error));
    }
    return this.#lookup(cache, entry, query, namespace, key, ttl, stale, context);
  }

  // The hit path allocates nothing of its own: the miss paths get their state as an `Ask`.
  async #lookup(
    cache: CacheStore,
    entry: Entry,
    query: Query<unknown>,
    namespace: string,
    key: string,
    ttl: number,
    stale: number,
    context: MiddlewareContext | undefined,
  ): Promise<unknown> {
    let hit: { readonly value: unknown } | undefined;
    try {
      hit = await cache.get(namespace, key);
    } catch (error) {
      this.#cacheFailed('get', entry.type, error);
    }
    if (hit !== undefined) {
      const value = hit.value;
      if (!isEnvelope(value)) {
        this.#hits += 1;
        if (context !== undefined) context.cached = true;
        return value;
      }
      if (value.freshUntil > Date.now()) {
        this.#hits += 1;
        if (context !== undefined) context.cached = true;
        return value.value;
      }
      if (stale > 0) {
        // Served stale: a hit; one refresh runs in the background.
        this.#hits += 1;
        if (context !== undefined) context.cached = true;
        this.#refresh(new Ask(entry, query, namespace, key, ttl, stale, context), cache);
        return value.value;
      }
      // Past its fresh time and the caller takes no stale result: a miss.
    }
    return this.#miss(new Ask(entry, query, namespace, key, ttl, stale, context), cache);
  }

  async #miss(ask: Ask, cache: CacheStore): Promise<unknown> {
    // Only a miss joins or starts a flight: concurrent identical misses run the handler once.
    const flightKey = `${ask.namespace}\u0000${ask.key}`;
    const existing = this.#inFlight.get(flightKey);
    if (existing !== undefined) {
      this.#coalesced += 1;
      if (ask.context !== undefined) {
        ask.context.cached = false;
        ask.context.coalesced = true;
      }
      return existing;
    }
    const flight = this.#fill(ask, cache);
    this.#inFlight.set(flightKey, flight);
    try {
      return await flight;
    } finally {
      this.#inFlight.delete(flightKey);
    }
  }

  /**
   * The first call of a miss in this process. Without a `singleFlight` store it runs the handler.
   * With one, it takes the key's lease and runs the handler, or, when another process holds the
   * lease, waits for that process's result (then it counts as coalesced) and takes the lease over
   * if it expires first (its holder died or overran): exactly one more run. A call that takes the
   * lease after waiting reads once more before running the handler (the result may just have landed).
   */
  async #fill(ask: Ask, cache: CacheStore): Promise<unknown> {
    const flight = cache.singleFlight;
    if (flight === undefined) return this.#run(ask, cache);
    const { namespace, key } = ask;
    let token: string | undefined;
    let waited = false;
    try {
      token = await flight.acquire(namespace, key);
      while (token === undefined) {
        waited = true;
        await new Promise((resolve) => setTimeout(resolve, flight.pollMs));
        const landed = await this.#landed(ask, cache);
        if (landed !== NONE) return landed;
        token = await flight.acquire(namespace, key);
      }
    } catch (error) {
      // The store cannot coordinate: run the handler here rather than fail or wait.
      this.#cacheFailed('singleFlight', ask.entry.type, error);
      return this.#run(ask, cache);
    }
    try {
      // After a wait, the last holder may have written the result and released its lease between
      // our last read and our lease. (Taken at the first try, the window is one round trip: a
      // second read there would cost every miss a round trip for a rare duplicate run.)
      if (waited) {
        const landed = await this.#landed(ask, cache).catch(() => NONE);
        if (landed !== NONE) return landed;
      }
      return await this.#run(ask, cache);
    } finally {
      flight.release(namespace, key, token).catch((error: unknown) => {
        this.#cacheFailed('singleFlight', ask.entry.type, error);
      });
    }
  }

  /** A fresh result another process wrote (counted as coalesced), or NONE. */
  async #landed(ask: Ask, cache: CacheStore): Promise<unknown> {
    const hit = await cache.get(ask.namespace, ask.key);
    if (hit === undefined) return NONE;
    const value = hit.value;
    let result: unknown;
    if (!isEnvelope(value)) result = value;
    else if (value.freshUntil > Date.now()) result = value.value;
    else return NONE;
    this.#coalesced += 1;
    if (ask.context !== undefined) {
      ask.context.cached = false;
      ask.context.coalesced = true;
    }
    return result;
  }

  /** Runs the handler for a miss (counted as one) and stores its result. */
  async #run(ask: Ask, cache: CacheStore): Promise<unknown> {
    this.#misses += 1;
    if (ask.context !== undefined) ask.context.cached = false;
    const value = await ask.entry.call(ask.query);
    await this.#store(ask, cache, value);
    return value;
  }

  async #store(ask: Ask, cache: CacheStore, value: unknown): Promise<void> {
    try {
      if (ask.stale === 0) await cache.set(ask.namespace, ask.key, value, ask.ttl);
      else {
        const envelope: StaleEnvelope = {
          [ENVELOPE_MARK]: 1,
          freshUntil: Date.now() + ask.ttl * 1000,
          value,
        };
        await cache.set(ask.namespace, ask.key, envelope, ask.ttl + ask.stale);
      }
    } catch (error) {
      this.#cacheFailed('set', ask.entry.type, error);
    }
  }

  /**
   * Refreshes a stale entry in the background, once per key in this process and, with a
   * `singleFlight` store, once across processes (a process that cannot take the lease leaves it to
   * the holder). Not an askCached call: counted in `refreshes`, never in hits or misses.
   */
  #refresh(ask: Ask, cache: CacheStore): void {
    const refreshKey = `${ask.namespace}\u0000${ask.key}\u0000refresh`;
    if (this.#inFlight.has(refreshKey)) return;
    const flight = cache.singleFlight;
    const work = (async () => {
      let token: string | undefined;
      if (flight !== undefined) {
        try {
          token = await flight.acquire(ask.namespace, ask.key);
        } catch (error) {
          this.#cacheFailed('singleFlight', ask.entry.type, error);
          return;
        }
        if (token === undefined) return;
      }
      try {
        this.#refreshes += 1;
        const value = await ask.entry.call(ask.query);
        await this.#store(ask, cache, value);
      } catch (error) {
        this.#context.logger.warn('Query cache refresh failed; the stale result stays until it expires', {
          query: ask.entry.type,
          error: error instanceof Error ? error.message : String(error),
        });
      } finally {
        if (flight !== undefined && token !== undefined)
          await flight.release(ask.namespace, ask.key, token).catch((error: unknown) => {
            this.#cacheFailed('singleFlight', ask.entry.type, error);
          });
      }
    })().finally(() => {
      this.#inFlight.delete(refreshKey);
    });
    this.#inFlight.set(refreshKey, work);
  }

  #cacheFailed(operation: string, type: string, error: unknown): void {
    this.#errors += 1;
    this.#context.logger.warn('Query cache unavailable, using the handler', {
      query: type,
      operation,
      cache: this.#context.cache?.name,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

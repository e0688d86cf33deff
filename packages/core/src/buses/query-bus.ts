import { CommandValidationError } from '../errors/command-validation-error';
import { HandlerAlreadyRegisteredError } from '../errors/handler-already-registered-error';
import { HandlerNotFoundError } from '../errors/handler-not-found-error';
import { QueryExecutionError } from '../errors/query-execution-error';
import { type MessageClass, messageTypeOf, type Query, type ResultOf } from '../messages';
import type { CacheStats } from '../ports/cache-store';
import { stableKey } from './cache-key';
import type { RegisterOptions } from './command-bus';
import { type Handler, makeInvoker } from './handlers';
import { type MiddlewareContext, runPipeline } from './middleware';
import type { BusContext } from './shared';

interface Entry {
  readonly type: string;
  namespace?: string;
  readonly call: (query: Query<unknown>) => Promise<unknown>;
}

export interface AskCachedOptions {
  /** Seconds; default: the query's `cacheTtl()`, then `queryBus.defaultTtl`. */
  readonly ttl?: number;
}

export interface AskMultipleOptions {
  /** Ask through the cache (`askCached`) with these options. */
  readonly cached?: boolean | AskCachedOptions;
}

type Results<T> = { -readonly [K in keyof T]: ResultOf<T[K]> };

function wrapQueryError(type: string, error: unknown): Error {
  if (error instanceof CommandValidationError || error instanceof QueryExecutionError) return error;
  return new QueryExecutionError(type, error);
}

/**
 * Routes each query to its one handler, with an optional cache in front (`askCached`): results
 * (null included) are cached under `<prefix>:<wire name>` + a stable key of the query's fields;
 * concurrent identical misses run the handler once; a failing cache never fails a query.
 */
export class QueryBus {
  readonly #handlers = new Map<Function, Entry>();
  readonly #context: BusContext;
  readonly #inFlight = new Map<string, Promise<unknown>>();
  #hits = 0;
  #misses = 0;
  #errors = 0;
  #warnedNoCache = false;

  /** @internal Use `createCqrs()`. */
  constructor(context: BusContext) {
    this.#context = context;
  }

  /** Registers the handler of a query class. Does nothing when handlers are disabled. */
  register<Q extends Query<unknown>>(
    queryClass: MessageClass<Q>,
    handler: Handler<Q, ResultOf<Q>>,
    options: RegisterOptions = {},
  ): this {
    const type = messageTypeOf(queryClass);
    this.#context.registry.register(queryClass);
    if (!this.#context.config.enableHandlers) return this;
    if (this.#handlers.has(queryClass) && options.replace !== true)
      throw new HandlerAlreadyRegisteredError('query', type);
    const validates = typeof queryClass.prototype.validate === 'function' || queryClass.schema !== undefined;
    this.#handlers.set(queryClass, {
      type,
      call: makeInvoker(type, handler as Handler<Query<unknown>, unknown>, validates, wrapQueryError),
    });
    return this;
  }

  has(queryClass: MessageClass<Query<unknown>>): boolean {
    return this.#handlers.has(queryClass);
  }

  /**
   * Runs the query's handler and returns its result.
   * @throws HandlerNotFoundError, CommandValidationError, QueryExecutionError (handler error as `cause`).
   */
  ask<Q extends Query<unknown>>(query: Q): Promise<ResultOf<Q>> {
    const entry = this.#entry(query);
    if (entry instanceof Error) return Promise.reject(entry);
    if (this.#context.middleware.length === 0) return entry.call(query) as Promise<ResultOf<Q>>;
    const context: MiddlewareContext = {
      kind: 'query',
      operation: 'ask',
      message: query,
      messageType: entry.type,
      async: false,
    };
    return runPipeline(this.#context.middleware, context, () => entry.call(query)) as Promise<ResultOf<Q>>;
  }

  #entry(query: Query<unknown>): Entry | Error {
    const entry = this.#handlers.get(query.constructor);
    if (entry !== undefined) return entry;
    try {
      return new HandlerNotFoundError('query', messageTypeOf(query), !this.#context.config.enableHandlers);
    } catch (error) {
      return error as Error;
    }
  }

  /** The cache namespace of a query class: `<cachePrefix>:<wire name>`. */
  namespaceOf(query: Query<unknown> | MessageClass<Query<unknown>>): string {
    return `${this.#context.config.queryBus.cachePrefix}:${messageTypeOf(query)}`;
  }

  /** The cache key of a query within its namespace. */
  cacheKeyOf(query: Query<unknown>): string {
    return query.cacheKey?.() ?? stableKey(query.toPayload());
  }

  /**
   * Answers from the cache, or runs the handler and caches its result for `ttl` seconds. A query
   * whose `cacheable()` is false always runs the handler. Cache errors are logged and counted,
   * never thrown.
   */
  askCached<Q extends Query<unknown>>(query: Q, options: AskCachedOptions = {}): Promise<ResultOf<Q>> {
    const entry = this.#entry(query);
    if (entry instanceof Error) return Promise.reject(entry);
    const context: MiddlewareContext = {
      kind: 'query',
      operation: 'askCached',
      message: query,
      messageType: entry.type,
      async: false,
    };
    if (this.#context.middleware.length === 0)
      return this.#cached(entry, query, options, context) as Promise<ResultOf<Q>>;
    return runPipeline(this.#context.middleware, context, () =>
      this.#cached(entry, query, options, context),
    ) as Promise<ResultOf<Q>>;
  }

  #cached(
    entry: Entry,
    query: Query<unknown>,
    options: AskCachedOptions,
    context: MiddlewareContext,
  ): Promise<unknown> {
    const cache = this.#context.cache;
    if (query.cacheable?.() === false || cache === undefined) {
      if (cache === undefined && !this.#warnedNoCache) {
        this.#warnedNoCache = true;
        this.#context.logger.warn('askCached without a cache store: running the handler every time', {
          query: entry.type,
        });
      }
      context.cached = false;
      return entry.call(query);
    }
    const ttl = options.ttl ?? query.cacheTtl?.() ?? this.#context.config.queryBus.defaultTtl;
    if (!Number.isFinite(ttl) || ttl <= 0) {
      return Promise.reject(
        new QueryExecutionError(entry.type, new RangeError(`ttl must be > 0 seconds, got ${ttl}`)),
      );
    }
    const namespace = (entry.namespace ??= `${this.#context.config.queryBus.cachePrefix}:${entry.type}`);
    let key: string;
    try {
      key = this.cacheKeyOf(query);
    } catch (error) {
      return Promise.reject(wrapQueryError(entry.type, error));
    }
    return this.#lookup(entry, query, namespace, key, ttl, context);
  }

  async #lookup(
    entry: Entry,
    query: Query<unknown>,
    namespace: string,
    key: string,
    ttl: number,
    context: MiddlewareContext,
  ): Promise<unknown> {
    const cache = this.#context.cache!;
    try {
      const hit = await cache.get(namespace, key);
      if (hit !== undefined) {
        this.#hits += 1;
        context.cached = true;
        return hit.value;
      }
    } catch (error) {
      this.#cacheFailed('get', entry.type, error);
    }
    // Only a miss joins or starts a flight: concurrent identical misses run the handler once.
    const flightKey = `${namespace}\u0000${key}`;
    const existing = this.#inFlight.get(flightKey);
    if (existing !== undefined) {
      context.cached = true;
      return existing;
    }
    const flight = this.#fill(entry, query, namespace, key, ttl, context);
    this.#inFlight.set(flightKey, flight);
    try {
      return await flight;
    } finally {
      this.#inFlight.delete(flightKey);
    }
  }

  async #fill(
    entry: Entry,
    query: Query<unknown>,
    namespace: string,
    key: string,
    ttl: number,
    context: MiddlewareContext,
  ): Promise<unknown> {
    const cache = this.#context.cache!;
    this.#misses += 1;
    context.cached = false;
    const value = await entry.call(query);
    try {
      await cache.set(namespace, key, value, ttl);
    } catch (error) {
      this.#cacheFailed('set', entry.type, error);
    }
    return value;
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

  /** Drops the cached result of one query. Resolves `true` when there was one. */
  async invalidate(query: Query<unknown>): Promise<boolean> {
    const cache = this.#context.cache;
    if (cache === undefined) return false;
    return cache.delete(this.namespaceOf(query), this.cacheKeyOf(query));
  }

  /** Drops every cached result of a query class, in every process sharing the cache. */
  async invalidateType(queryClass: MessageClass<Query<unknown>>): Promise<void> {
    await this.#context.cache?.clear(this.namespaceOf(queryClass));
  }

  /** Cache hits, misses and cache errors seen by this bus (for the hit-rate metric). */
  cacheStats(): CacheStats {
    return { hits: this.#hits, misses: this.#misses, errors: this.#errors };
  }

  /**
   * Asks several queries at once, concurrently. An object gives an object of results under the
   * same keys; an array gives an array. A failure rejects with `QueryExecutionError` naming the key.
   */
  askMultiple<const T extends readonly Query<unknown>[]>(
    queries: T,
    options?: AskMultipleOptions,
  ): Promise<Results<T>>;
  askMultiple<const T extends Record<string, Query<unknown>>>(
    queries: T,
    options?: AskMultipleOptions,
  ): Promise<Results<T>>;
  async askMultiple(
    queries: readonly Query<unknown>[] | Record<string, Query<unknown>>,
    options: AskMultipleOptions = {},
  ): Promise<unknown> {
    const entries: [string, Query<unknown>][] = Array.isArray(queries)
      ? queries.map((query, index) => [String(index), query])
      : Object.entries(queries);
    const cachedOptions =
      options.cached === true ? {} : options.cached === false ? undefined : options.cached;
    const settled = await Promise.all(
      entries.map(async ([key, query]) => {
        try {
          return await (cachedOptions === undefined ? this.ask(query) : this.askCached(query, cachedOptions));
        } catch (error) {
          let type: string;
          try {
            type = messageTypeOf(query);
          } catch {
            type = 'unknown query';
          }
          const cause = error instanceof QueryExecutionError ? error.cause : error;
          throw new QueryExecutionError(type, cause, key);
        }
      }),
    );
    if (Array.isArray(queries)) return settled;
    return Object.fromEntries(entries.map(([key], index) => [key, settled[index]]));
  }
}

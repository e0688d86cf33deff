import { HandlerAlreadyRegisteredError } from '../errors/handler-already-registered-error';
import { HandlerNotFoundError } from '../errors/handler-not-found-error';
import { QueryExecutionError } from '../errors/query-execution-error';
import { type MessageClass, messageTypeOf, type Query, type ResultOf } from '../messages';
import { type CacheInvalidationOptions, CacheInvalidator } from './cache-invalidation';
import type { RegisterOptions } from './command-bus';
import { type Handler, makeInvoker } from './handlers';
import { type MiddlewareContext, runPipeline } from './middleware';
import {
  type AskCachedOptions,
  type Entry,
  generalKey,
  NO_OPTIONS,
  QueryCache,
  type QueryCacheStats,
  safeTypeOf,
  wrapQueryError,
} from './query-cache';
import type { BusContext } from './shared';

/** Options of `queryBus.askMultiple`. */
export interface AskMultipleOptions {
  /** Ask through the cache (`askCached`) with these options. */
  readonly cached?: boolean | AskCachedOptions;
}

type Results<T> = { -readonly [K in keyof T]: ResultOf<T[K]> };

/**
 * Routes each query to its one handler, with an optional cache in front (`askCached`): results
 * (null included) are cached under `<prefix>:<wire name>` + a stable key of the query's fields;
 * concurrent identical misses run the handler once; a failing cache never fails a query.
 */
export class QueryBus {
  readonly #handlers = new Map<Function, Entry>();
  readonly #context: BusContext;
  readonly #invalidator: CacheInvalidator;
  readonly #cache: QueryCache;

  /** @internal Use `createCqrs()`. */
  constructor(context: BusContext, invalidation: CacheInvalidationOptions = {}) {
    this.#context = context;
    this.#invalidator = new CacheInvalidator(context.logger, () => context.cache?.name, invalidation);
    this.#cache = new QueryCache(context);
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
    const entry = this.#handlers.get(query.constructor);
    return entry === undefined ? generalKey(query) : this.#cache.keyOf(entry, query);
  }

  /**
   * Answers from the cache, or runs the handler and caches its result for `ttl` seconds. A query
   * whose `cacheable()` is false always runs the handler. Cache errors are logged and counted,
   * never thrown. On a miss the handler runs once per key for every identical call in flight in
   * this process, and, when the store offers `singleFlight`, in every process sharing the store.
   */
  askCached<Q extends Query<unknown>>(
    query: Q,
    options: AskCachedOptions = NO_OPTIONS,
  ): Promise<ResultOf<Q>> {
    const entry = this.#entry(query);
    if (entry instanceof Error) return Promise.reject(entry);
    const middleware = this.#context.middleware;
    if (middleware.length === 0)
      return this.#cache.cached(entry, query, options, undefined) as Promise<ResultOf<Q>>;
    const context: MiddlewareContext = {
      kind: 'query',
      operation: 'askCached',
      message: query,
      messageType: entry.type,
      async: false,
    };
    return runPipeline(middleware, context, () =>
      this.#cache.cached(entry, query, options, context),
    ) as Promise<ResultOf<Q>>;
  }

  /**
   * Asks every query through the cache (as `askCached`, and counted as such), concurrently, so that
   * the first real callers find them warm, e.g. at start-up. Never throws: a failing query is
   * logged and counted in `failed`. With a store offering `singleFlight`, processes warming the
   * same queries at once run each handler once between them.
   */
  async warm(
    queries: Iterable<Query<unknown>>,
    options: AskCachedOptions = NO_OPTIONS,
  ): Promise<{ readonly warmed: number; readonly failed: number }> {
    let warmed = 0;
    let failed = 0;
    await Promise.all(
      Array.from(queries, (query) =>
        this.askCached(query, options).then(
          () => {
            warmed += 1;
          },
          (error: unknown) => {
            failed += 1;
            this.#context.logger.warn('Cache warming: a query failed', {
              query: safeTypeOf(query),
              error: error instanceof Error ? error.message : String(error),
            });
          },
        ),
      ),
    );
    return { warmed, failed };
  }

  /**
   * Drops the cached result of one query. Resolves `true` when there was one.
   *
   * Never fails because of the cache store, since it typically runs after a commit: when the
   * store fails or does not answer within `cacheInvalidation.timeoutMs`, the failure is logged
   * and counted, the call resolves `false`, and the deletion is tried again in the background.
   * If every try fails, the stale entry lives at most until its TTL ends.
   */
  async invalidate(query: Query<unknown>): Promise<boolean> {
    const cache = this.#context.cache;
    if (cache === undefined) return false;
    const namespace = this.namespaceOf(query);
    const key = this.cacheKeyOf(query);
    const deleted = await this.#invalidator.run('delete', namespace, () => cache.delete(namespace, key));
    return deleted === true;
  }

  /**
   * Drops every cached result of a query class, in every process sharing the cache. Degrades like
   * `invalidate`: a failing or slow store is logged, counted and retried in the background, never
   * thrown; the stale entries live at most until their TTL ends.
   */
  async invalidateType(queryClass: MessageClass<Query<unknown>>): Promise<void> {
    const cache = this.#context.cache;
    if (cache === undefined) return;
    const namespace = this.namespaceOf(queryClass);
    await this.#invalidator.run('clear', namespace, () => cache.clear(namespace));
  }

  /** @internal Stops background invalidation retries (logged as abandoned). */
  close(): void {
    this.#invalidator.close();
  }

  /** Cache counters of this bus (for the hit-rate metric); see `QueryCacheStats`. */
  cacheStats(): QueryCacheStats {
    const { hits, misses, coalesced, errors, refreshes } = this.#cache.stats();
    const invalidationFailures = this.#invalidator.failures;
    return {
      hits,
      misses,
      coalesced,
      errors: errors + invalidationFailures,
      invalidationFailures,
      refreshes,
    };
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

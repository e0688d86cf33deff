import { withTimeout } from '../adapter/timeout';
import { ConfigError } from '../errors/config-error';
import type { Logger } from '../ports/logger';

/** How `invalidate` / `invalidateType` ride out a failing or slow cache store. */
export interface CacheInvalidationOptions {
  /** Milliseconds to wait for the store before going on without it. Default 1000. */
  readonly timeoutMs?: number;
  /** Tries in the background after the first one failed or timed out. Default 3. */
  readonly retries?: number;
  /** Milliseconds before the first background try, doubled for each further one. Default 200. */
  readonly backoffMs?: number;
}

/**
 * @internal Runs cache invalidations so that a failing or slow store never fails the caller (they
 * typically run right after a commit): a failure or timeout is logged and counted, and the
 * invalidation is tried again in the background with a doubling pause until it lands or the tries
 * are used up (then a stale entry lives until its TTL ends).
 */
export class CacheInvalidator {
  readonly #logger: Logger;
  readonly #storeName: () => string | undefined;
  readonly #options: Required<CacheInvalidationOptions>;
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  #failures = 0;
  #closed = false;

  constructor(logger: Logger, storeName: () => string | undefined, options: CacheInvalidationOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 1000;
    const retries = options.retries ?? 3;
    const backoffMs = options.backoffMs ?? 200;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new ConfigError('cacheInvalidation.timeoutMs', timeoutMs, 'a number of milliseconds > 0');
    if (!Number.isInteger(retries) || retries < 0)
      throw new ConfigError('cacheInvalidation.retries', retries, 'an integer, 0 or more');
    if (!Number.isFinite(backoffMs) || backoffMs < 0)
      throw new ConfigError('cacheInvalidation.backoffMs', backoffMs, 'a number of milliseconds, 0 or more');
    this.#logger = logger;
    this.#storeName = storeName;
    this.#options = { timeoutMs, retries, backoffMs };
  }

  /** Failed or timed-out tries so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Resolves what `invalidate` resolved, or `undefined` when the store failed or timed out. */
  async run<R>(
    operation: 'delete' | 'clear',
    namespace: string,
    invalidate: () => Promise<R>,
  ): Promise<R | undefined> {
    try {
      return await this.#try(invalidate);
    } catch (error) {
      this.#failed(operation, namespace, error, 0, invalidate);
      return undefined;
    }
  }

  #try<R>(invalidate: () => Promise<R>): Promise<R> {
    const { timeoutMs } = this.#options;
    let attempt: Promise<R>;
    try {
      attempt = Promise.resolve(invalidate());
    } catch (error) {
      attempt = Promise.reject(error);
    }
    return withTimeout(
      attempt,
      timeoutMs,
      () => new Error(`the cache store did not answer within ${timeoutMs} ms`),
    );
  }

  #failed(
    operation: 'delete' | 'clear',
    namespace: string,
    error: unknown,
    retried: number,
    invalidate: () => Promise<unknown>,
  ): void {
    this.#failures += 1;
    const context = {
      namespace,
      operation,
      cache: this.#storeName(),
      error: error instanceof Error ? error.message : String(error),
    };
    if (retried >= this.#options.retries || this.#closed) {
      this.#logger.error('Query cache invalidation abandoned; stale entries live until their TTL ends', {
        ...context,
        tries: retried + 1,
      });
      return;
    }
    this.#logger.warn('Query cache invalidation failed; retrying in the background', context);
    const timer = setTimeout(
      async () => {
        this.#retryTimers.delete(timer);
        try {
          await this.#try(invalidate);
        } catch (again) {
          this.#failed(operation, namespace, again, retried + 1, invalidate);
        }
      },
      this.#options.backoffMs * 2 ** retried,
    );
    timer.unref?.();
    this.#retryTimers.add(timer);
  }

  /** Stops the background tries (logged as abandoned). */
  close(): void {
    this.#closed = true;
    if (this.#retryTimers.size > 0) {
      this.#logger.error(
        'Query cache invalidation abandoned at close; stale entries live until their TTL ends',
        {
          pending: this.#retryTimers.size,
        },
      );
    }
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#retryTimers.clear();
  }
}

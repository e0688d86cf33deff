import { FinAegisError } from '@finaegis/core';

/** What went wrong, so callers (and the query bus's logs) can tell an outage from a bug. */
export type CacheStoreErrorReason = 'timeout' | 'unavailable' | 'closed' | 'corrupt-entry';

/**
 * A cache operation failed. It exists so the query bus (which catches it and runs the handler) and
 * operators can tell a slow or unreachable backend (`timeout`, `unavailable`) from a closed store or
 * a corrupt entry with `instanceof` and `reason` instead of reading messages (a caller's mistake is
 * an `InvalidArgumentError`, a bad option a `ConfigError`). The backend's own error is kept as
 * `cause`; `adapter` is `@finaegis/keyv`.
 */
export class CacheStoreError extends FinAegisError {
  readonly code = 'CACHE_STORE';
  /** The Keyv store behind it (`redis`, `memory`, ...); `adapter` is this package. */
  readonly store: string;
  readonly operation: string;
  readonly reason: CacheStoreErrorReason;

  constructor(
    store: string,
    operation: string,
    reason: CacheStoreErrorReason,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`[@finaegis/keyv] [${store}] ${operation} failed (${reason}): ${detail}`, {
      ...options,
      adapter: '@finaegis/keyv',
    });
    this.store = store;
    this.operation = operation;
    this.reason = reason;
    (this as { retryable: boolean }).retryable = reason === 'timeout' || reason === 'unavailable';
  }
}

/** What an operation that got no answer within `ms` rejects with. */
/** @internal */
export function timedOut(operation: string, ms: number): () => CacheStoreError {
  return () => new CacheStoreError('keyv', operation, 'timeout', `no answer within ${ms} ms`);
}

/** A Keyv store that answered a write with `false`. */
/** @internal */
export function notWritten(operation: string, what: string): CacheStoreError {
  return new CacheStoreError('keyv', operation, 'unavailable', `the Keyv store did not write ${what}`);
}

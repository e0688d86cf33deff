import { FinAegisError } from '@finaegis/core';

/** What went wrong, so callers (and the query bus's logs) can tell an outage from a bug. */
export type CacheStoreErrorReason =
  | 'timeout'
  | 'unavailable'
  | 'closed'
  | 'invalid-argument'
  | 'corrupt-entry';

/**
 * A cache operation failed. It exists so the query bus (which catches it and runs the handler) and
 * operators can tell a slow or unreachable backend (`timeout`, `unavailable`) from a caller's mistake
 * (`invalid-argument`) with `instanceof` and `reason` instead of reading messages. The backend's own
 * error is kept as `cause`.
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
    super(`[@finaegis/keyv] [${store}] ${operation} failed (${reason}): ${detail}`, options);
    this.store = store;
    this.operation = operation;
    this.reason = reason;
    (this as { retryable: boolean }).retryable = reason === 'timeout' || reason === 'unavailable';
  }
}

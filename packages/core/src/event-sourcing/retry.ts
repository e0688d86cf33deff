import { backoffDelay } from '../adapter/retry';
import { ConcurrencyError } from '../errors/concurrency-error';
import { ConfigError } from '../errors/config-error';
import type { BackoffPolicy } from '../ports/transport';

/** Options of `retryOnConcurrencyError`. */
export interface RetryOnConcurrencyOptions {
  /** Runs in all, the first included. Default 5. With N writers racing once each, N suffice. */
  readonly attempts?: number;
  /** Wait between runs. Default exponential from 5 ms, capped at 250 ms. */
  readonly backoff?: BackoffPolicy;
  /**
   * Spread each wait randomly between half and all of the backoff (default true), so writers
   * that collided do not collide again in lockstep.
   */
  readonly jitter?: boolean;
  /** Told about each conflict that will be retried. */
  readonly onRetry?: (error: ConcurrencyError, attempt: number) => void;
  /** Stops retrying (the last error is thrown) once aborted. */
  readonly signal?: AbortSignal;
}

const DEFAULT_BACKOFF: BackoffPolicy = { type: 'exponential', delayMs: 5, maxDelayMs: 250 };

/**
 * Runs `work` (load, decide, save) again when it fails with `ConcurrencyError`, i.e. when another
 * writer appended to the stream between our load and our save. `work` must reload the aggregate
 * on every run: retrying a save of stale state would fail the same way. Other errors are thrown at
 * once; after the last attempt the last `ConcurrencyError` is thrown.
 */
export async function retryOnConcurrencyError<T>(
  work: (attempt: number) => Promise<T>,
  options: RetryOnConcurrencyOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new ConfigError('attempts', attempts, 'an integer of at least 1');
  }
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= attempts || options.signal?.aborted) throw error;
      options.onRetry?.(error, attempt);
      const delay = backoffDelay(backoff, attempt);
      const wait = options.jitter === false ? delay : delay / 2 + Math.random() * (delay / 2);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

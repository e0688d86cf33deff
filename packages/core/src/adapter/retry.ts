import type { BackoffPolicy, RetryPolicy } from '../ports/transport';

/** Default retry policy of consumers. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 100, maxDelayMs: 30_000 },
};

/** Delay before the next attempt after `attempt` failed deliveries. */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const base =
    policy.type === 'fixed' ? policy.delayMs : policy.delayMs * 2 ** Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(base, policy.maxDelayMs ?? Number.POSITIVE_INFINITY);
}

/** Whether an error asks not to be retried (`retryable === false`). */
export function isRetryable(error: unknown): boolean {
  return !(
    typeof error === 'object' &&
    error !== null &&
    (error as { retryable?: unknown }).retryable === false
  );
}

/** What a consumer does with a message whose handler failed (see {@link failureDecision}). */
export type FailureDecision =
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'dead-letter'; readonly reason: 'not retryable' | 'attempts used up' };

/**
 * The dead-letter decision every transport makes the same way: after delivery `attempt` (1 for the
 * first) failed with `error`, retry after the policy's backoff, or dead-letter the message when the
 * error says it is not retryable or the attempts are used up.
 */
export function failureDecision(error: unknown, attempt: number, policy: RetryPolicy): FailureDecision {
  if (!isRetryable(error)) return { action: 'dead-letter', reason: 'not retryable' };
  if (attempt >= policy.attempts) return { action: 'dead-letter', reason: 'attempts used up' };
  return { action: 'retry', delayMs: backoffDelay(policy.backoff, attempt) };
}

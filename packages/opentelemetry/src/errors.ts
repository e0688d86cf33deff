import { failureDecision } from '@finaegis/core/adapter';

/**
 * `error.type` of a failure: the error's `name` (our errors set it: `CommandExecutionError`,
 * `HandlerTimeoutError`, ...), low in cardinality as the conventions ask; `_OTHER` for a thrown
 * value that is not an error.
 */
export function errorType(error: unknown): string {
  if (error instanceof Error) return error.name === '' ? 'Error' : error.name;
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name !== '' ? name : '_OTHER';
}

/**
 * Whether a failed handling dead-letters the message: the decision every transport makes through
 * the adapter kit's `failureDecision` (not retryable, or the last attempt).
 */
export function isDeadLettering(error: unknown, attempt: number, maxAttempts: number): boolean {
  const policy = { attempts: maxAttempts, backoff: { type: 'fixed', delayMs: 0 } } as const;
  return failureDecision(error, attempt, policy).action === 'dead-letter';
}

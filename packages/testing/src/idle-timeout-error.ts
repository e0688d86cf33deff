import { FinAegisError } from '@finaegis/core';

/**
 * `idle()` waited its whole timeout and the app was still busy: a handler that never settles, a
 * message that keeps coming back, work calling `idle()` from inside a handler. It exists so that
 * such a test fails naming what was still going on, instead of hanging until the runner kills it.
 */
export class IdleTimeoutError extends FinAegisError {
  readonly code = 'IDLE_TIMEOUT';
  override readonly retryable = false;
  /** What was still going on, one line each (`commands/workers: 1 in flight`). */
  readonly busy: readonly string[];

  constructor(timeoutMs: number, busy: readonly string[]) {
    super(`still busy after ${timeoutMs} ms: ${busy.join('; ')}`, { adapter: '@finaegis/testing' });
    this.busy = busy;
  }
}

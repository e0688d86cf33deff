import { FinAegisError } from '@finaegis/core';

/**
 * A request would take the exchange past one of its `LIMITS` (today: a deposit past `maxBalance`).
 * It exists so the API answers 422 naming the limit by `instanceof`, rather than a 500; limits an
 * order breaks are field errors of the command or a rejected order instead.
 */
export class LimitExceededError extends FinAegisError {
  readonly code = 'LIMIT_EXCEEDED';
  override readonly retryable = false;
  /** The name of the limit in `LIMITS`, e.g. `maxBalance`. */
  readonly limit: string;
  /** The request field at fault. */
  readonly field: string;
  readonly reason: string;

  constructor(limit: string, field: string, reason: string) {
    super(`[finaegis-demo] ${field} ${reason}`);
    this.limit = limit;
    this.field = field;
    this.reason = reason;
  }
}

import { FinAegisError } from './finaegis-error';

/**
 * A caller passed an argument an adapter cannot accept (an empty channel name, a message whose
 * body is not a string, a concurrency of 0, ...). It exists so that every adapter reports bad input
 * the same way: callers branch on `instanceof` and read `argument` instead of matching the text of
 * a `TypeError` that differs per adapter. Not retryable: the same call fails the same way again.
 */
export class InvalidArgumentError extends FinAegisError {
  readonly code = 'INVALID_ARGUMENT';
  override readonly retryable = false;
  /** Which argument or option was wrong, e.g. `channel`, `message.body`, `retry.attempts`. */
  readonly argument: string;

  constructor(
    adapter: string,
    argument: string,
    problem: string,
    options?: { cause?: unknown; adapter?: string },
  ) {
    super(`invalid ${argument}: ${problem}`, { ...options, adapter });
    this.argument = argument;
  }
}

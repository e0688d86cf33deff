import { FinAegisError } from '@finaegis/core';

/**
 * A spec's expectation did not hold: the events, the error, the state, or what an app dispatched,
 * published, sent or cached were not what the test said. It exists so that a failing spec reads
 * the same under every runner: the message says what was expected and what happened, and `actual`
 * and `expected` (with `showDiff`) let vitest, jest and node:test print a diff of the two.
 */
export class SpecAssertionError extends FinAegisError {
  readonly code = 'SPEC_ASSERTION';
  override readonly retryable = false;
  /** What the spec found (shaped like `expected`, so that a diff lines up). */
  readonly actual: unknown;
  /** What the spec expected. */
  readonly expected: unknown;
  /** Asks the runner to print a diff of `actual` and `expected`. */
  readonly showDiff = true;

  constructor(message: string, details: { actual?: unknown; expected?: unknown; cause?: unknown } = {}) {
    super(message, {
      adapter: '@finaegis/testing',
      ...(details.cause === undefined ? {} : { cause: details.cause }),
    });
    this.actual = details.actual;
    this.expected = details.expected;
  }
}

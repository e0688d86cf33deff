/**
 * Base of every error this project throws. It exists so that callers can tell our errors from
 * everything else with `instanceof` and read `code` instead of matching on message text.
 */
export abstract class FinAegisError extends Error {
  /** A stable, machine-readable code (`COMMAND_VALIDATION`, `CONCURRENCY`, ...). */
  abstract readonly code: string;
  /**
   * Whether doing the same thing again could succeed. Transports dead-letter a message at once when
   * its handler fails with a non-retryable error instead of spending its retry budget.
   */
  readonly retryable: boolean = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message.startsWith('[') ? message : `[@finaegis/core] ${message}`, options);
    this.name = new.target.name;
  }
}

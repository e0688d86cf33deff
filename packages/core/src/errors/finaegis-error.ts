/**
 * Base of every error this project throws. It exists so that callers can tell our errors from
 * everything else with `instanceof` and read `code` instead of matching on message text.
 *
 * Every error, whichever package throws it, has the same fields: `name` (the class), `code`,
 * `retryable`, `adapter` (the package that threw it, e.g. `@finaegis/kafka`) and `cause` when there
 * was one. Its message starts with `[<adapter>]`.
 */
export abstract class FinAegisError extends Error {
  /** A stable, machine-readable code (`COMMAND_VALIDATION`, `CONCURRENCY`, ...). */
  abstract readonly code: string;
  /**
   * Whether doing the same thing again could succeed. Transports dead-letter a message at once when
   * its handler fails with a non-retryable error instead of spending its retry budget.
   */
  readonly retryable: boolean = true;
  /** The package that threw it, e.g. `@finaegis/core`, `@finaegis/postgres`. */
  readonly adapter: string;

  /**
   * @param message Without the `[package]` prefix (added from `options.adapter`), or with one of
   *   its own, which then names the package.
   */
  constructor(message: string, options?: { cause?: unknown; adapter?: string }) {
    const prefixed = /^\[([^\]]+)\]/.exec(message)?.[1];
    const adapter = options?.adapter ?? prefixed ?? '@finaegis/core';
    super(prefixed === undefined ? `[${adapter}] ${message}` : message, options);
    this.adapter = adapter;
    this.name = new.target.name;
  }
}

import { FinAegisError } from '@finaegis/core';

/** What went wrong, so callers can tell a failed migration from a stopped relay without reading messages. */
export type PostgresErrorReason = 'migration-failed' | 'unexpected-result' | 'stopped' | 'no-transaction';

/**
 * PostgreSQL or this package's own state refused an operation in a way no other error names: a
 * migration that failed (the database's error is the `cause`), a function that answered with no
 * row, an outbox relay started again after `stop()`. It exists so callers can use `instanceof` and
 * `reason` instead of matching message text. `adapter` is `@finaegis/postgres`.
 */
export class PostgresError extends FinAegisError {
  readonly code = 'POSTGRES';
  readonly reason: PostgresErrorReason;

  constructor(reason: PostgresErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, { ...options, adapter: '@finaegis/postgres' });
    this.reason = reason;
    if (reason !== 'migration-failed') (this as { retryable: boolean }).retryable = false;
  }
}

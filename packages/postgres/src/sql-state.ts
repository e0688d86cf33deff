/* What PostgreSQL's SQLSTATE codes say about an error, read the same way wherever it is needed. */

// SQLSTATEs that mean "the database ended this transaction because it ran out of time".
const QUERY_CANCELED = '57014';
const IDLE_IN_TRANSACTION_TIMEOUT = '57P05';
// "current transaction is aborted, commands ignored until end of transaction block"
/** @internal */
export const IN_FAILED_TRANSACTION = '25P02';

/** @internal */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether the database ended the work for running out of time. The error may come wrapped (the
 * command bus wraps a handler's error in CommandExecutionError), so the cause chain is followed.
 * @internal
 */
export function isDatabaseTimeout(error: unknown): boolean {
  for (let current = error, depth = 0; current != null && depth < 8; depth++) {
    const code = sqlState(current);
    if (code === IDLE_IN_TRANSACTION_TIMEOUT) return true;
    if (code === QUERY_CANCELED && /statement timeout/i.test((current as Error).message ?? '')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** @internal Deadlock (40P01) or serialization failure (40001): the transaction was rolled back, retry it. */
export function isConflict(error: unknown): boolean {
  const code = sqlState(error);
  return code === '40P01' || code === '40001';
}

import { describe } from './command-execution-error';
import { FinAegisError } from './finaegis-error';

/**
 * A query handler threw. Kept apart from CommandExecutionError so read-side failures can be
 * reported and retried differently; `key` names the entry of an `askMultiple` call that failed.
 */
export class QueryExecutionError extends FinAegisError {
  readonly code = 'QUERY_EXECUTION';
  readonly messageType: string;
  readonly key: string | undefined;

  constructor(messageType: string, cause: unknown, key?: string) {
    super(`${key === undefined ? '' : `askMultiple[${key}]: `}${messageType} failed: ${describe(cause)}`, {
      cause,
    });
    this.messageType = messageType;
    this.key = key;
  }
}

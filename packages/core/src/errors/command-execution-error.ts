import { FinAegisError } from './finaegis-error';

/**
 * A command handler threw. It exists so that callers can tell "the command ran and failed" from
 * validation and routing errors; the handler's own error is kept as `cause`.
 */
export class CommandExecutionError extends FinAegisError {
  readonly code = 'COMMAND_EXECUTION';
  readonly messageType: string;

  constructor(messageType: string, cause: unknown) {
    super(`${messageType} failed: ${describe(cause)}`, { cause });
    this.messageType = messageType;
    (this as { retryable: boolean }).retryable = !(
      typeof cause === 'object' &&
      cause !== null &&
      (cause as { retryable?: unknown }).retryable === false
    );
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

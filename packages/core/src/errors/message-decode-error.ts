import { FinAegisError } from './finaegis-error';

/**
 * Bytes received from a transport are not a valid message (not JSON, not an envelope, a forbidden
 * key such as `__proto__`, a payload its class rejects). The message goes to dead-letter with this
 * error; it is never retried.
 */
export class MessageDecodeError extends FinAegisError {
  readonly code = 'MESSAGE_DECODE';
  override readonly retryable = false;

  constructor(reason: string, options?: { cause?: unknown; adapter?: string }) {
    super(`cannot decode message: ${reason}`, options);
  }
}

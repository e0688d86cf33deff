import { FinAegisError } from './finaegis-error';

/** A handler ran longer than the timeout middleware allows. The handler itself may still be running. */
export class HandlerTimeoutError extends FinAegisError {
  readonly code = 'HANDLER_TIMEOUT';
  readonly messageType: string;
  readonly timeoutMs: number;

  constructor(messageType: string, timeoutMs: number) {
    super(`${messageType} did not finish within ${timeoutMs} ms`);
    this.messageType = messageType;
    this.timeoutMs = timeoutMs;
  }
}

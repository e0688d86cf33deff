import { FinAegisError } from './finaegis-error';

/**
 * A transaction ran longer than its timeout (`commandBus.transactionTimeout`). The transaction was
 * rolled back: nothing it recorded or sent has left.
 */
export class TransactionTimeoutError extends FinAegisError {
  readonly code = 'TRANSACTION_TIMEOUT';
  readonly timeoutMs: number;

  constructor(timeoutMs: number, options?: { cause?: unknown; adapter?: string }) {
    super(`transaction timed out after ${timeoutMs} ms and was rolled back`, options);
    this.timeoutMs = timeoutMs;
  }
}

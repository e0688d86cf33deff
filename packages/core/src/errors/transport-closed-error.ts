import { FinAegisError } from './finaegis-error';

/**
 * A transport (or store) was used after `close()`. It exists so that shutdown races can be told
 * apart from broker failures; retrying on the same instance cannot succeed.
 */
export class TransportClosedError extends FinAegisError {
  readonly code = 'TRANSPORT_CLOSED';
  override readonly retryable = false;
  constructor(adapter: string, operation: string) {
    super(`cannot ${operation}: the transport is closed`, { adapter });
  }
}

import { FinAegisError } from './finaegis-error';

/**
 * A second handler was registered for the same command or query. The original silently replaced
 * the first one; we refuse unless `{ replace: true }` is passed.
 */
export class HandlerAlreadyRegisteredError extends FinAegisError {
  readonly code = 'HANDLER_ALREADY_REGISTERED';
  override readonly retryable = false;
  readonly messageType: string;

  constructor(kind: 'command' | 'query', messageType: string) {
    super(
      `a handler for ${kind} ${messageType} is already registered (pass { replace: true } to replace it)`,
    );
    this.messageType = messageType;
  }
}

import { FinAegisError } from './finaegis-error';

/**
 * No handler is registered for a command or query. It exists so a missing registration (or the
 * guide's "demo mode", `enableHandlers: false`) is told apart from a handler failure.
 */
export class HandlerNotFoundError extends FinAegisError {
  readonly code = 'HANDLER_NOT_FOUND';
  override readonly retryable = false;
  readonly messageType: string;

  constructor(kind: 'command' | 'query', messageType: string, handlersDisabled = false) {
    super(
      handlersDisabled
        ? `no handler for ${kind} ${messageType}: handlers are disabled (enableHandlers is false, DOMAIN_ENABLE_HANDLERS=false)`
        : `no handler registered for ${kind} ${messageType}`,
    );
    this.messageType = messageType;
  }
}

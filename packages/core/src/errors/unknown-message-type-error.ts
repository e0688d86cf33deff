import { FinAegisError } from './finaegis-error';

/**
 * A message crossing a process boundary names a type the registry does not know, or its class has
 * no wire name. Deserialisation only ever builds registered classes. Never retryable.
 */
export class UnknownMessageTypeError extends FinAegisError {
  readonly code = 'UNKNOWN_MESSAGE_TYPE';
  override readonly retryable = false;
  readonly messageType: string;

  constructor(messageType: string, detail?: string) {
    super(`unknown message type ${JSON.stringify(messageType)}${detail ? `: ${detail}` : ''}`);
    this.messageType = messageType;
  }
}

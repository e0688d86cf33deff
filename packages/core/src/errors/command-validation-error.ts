import { FinAegisError } from './finaegis-error';

/** One failing field of a message, with every reason it failed. */
export type FieldErrors = Record<string, string[]>;

/**
 * A command (or query) was rejected before any handler ran, because its fields are invalid.
 * It exists so that an API layer can answer 400/422 with `fields` and never confuse it with a
 * failure inside a handler. Never retryable: the same input fails the same way.
 */
export class CommandValidationError extends FinAegisError {
  readonly code = 'COMMAND_VALIDATION';
  override readonly retryable = false;
  /** The wire name of the message that failed validation. */
  readonly messageType: string;
  /** Failing fields, each with its reasons. `_` holds errors not tied to one field. */
  readonly fields: FieldErrors;

  constructor(messageType: string, fields: FieldErrors, options?: { cause?: unknown; adapter?: string }) {
    const summary = Object.entries(fields)
      .map(([field, reasons]) => `${field}: ${reasons.join(', ')}`)
      .join('; ');
    super(`${messageType} is invalid: ${summary}`, options);
    this.messageType = messageType;
    this.fields = fields;
  }
}

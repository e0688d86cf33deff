import { CommandValidationError, type FieldErrors } from './errors/command-validation-error';
import type { Message, MessageClass } from './messages';

/** The part of the Standard Schema v1 interface (zod, valibot, arktype...) that we call. */
export interface StandardSchemaV1Like {
  readonly '~standard': {
    readonly version: 1;
    readonly validate: (value: unknown) => StandardResult | Promise<StandardResult>;
  };
}

type StandardResult =
  | { readonly value: unknown; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };

function isStandardSchema(value: unknown): value is StandardSchemaV1Like {
  return typeof value === 'object' && value !== null && '~standard' in value;
}

function toFieldErrors(issues: Extract<StandardResult, { issues: unknown }>['issues']): FieldErrors {
  const fields: FieldErrors = {};
  for (const issue of issues) {
    const path = (issue.path ?? [])
      .map((segment) => String(typeof segment === 'object' ? segment.key : segment))
      .join('.');
    const key = path || '_';
    (fields[key] ??= []).push(issue.message);
  }
  return fields;
}

/**
 * Runs a message's own checks: its `validate()` method, then its class's Standard Schema
 * (`static schema`). Returns a promise only when the schema validates asynchronously.
 */
export function validateMessage(message: Message, messageType: string): void | Promise<void> {
  const withValidate = message as { validate?: () => void };
  if (typeof withValidate.validate === 'function') withValidate.validate();
  const schema = (message.constructor as MessageClass).schema;
  if (schema === undefined) return;
  if (!isStandardSchema(schema)) return;
  const result = schema['~standard'].validate(message.toPayload());
  if (result instanceof Promise) {
    return result.then((settled) => {
      if (settled.issues) throw new CommandValidationError(messageType, toFieldErrors(settled.issues));
    });
  }
  if (result.issues) throw new CommandValidationError(messageType, toFieldErrors(result.issues));
}

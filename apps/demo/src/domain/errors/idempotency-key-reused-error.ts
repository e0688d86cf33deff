import { FinAegisError } from '@finaegis/core';

/**
 * An `Idempotency-Key` the account already used came with a different request (another body, or
 * another endpoint). Replaying the first answer would hide the mistake and running the request
 * would break the key's promise, so the API answers 422 by `instanceof` and changes nothing.
 */
export class IdempotencyKeyReusedError extends FinAegisError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  override readonly retryable = false;
  readonly key: string;

  constructor(key: string) {
    super(`[finaegis-demo] Idempotency-Key ${JSON.stringify(key)} was already used with a different request`);
    this.key = key;
  }
}

import { FinAegisError } from './finaegis-error';

/** Bad configuration, found at start-up. Names the key, the value and what is allowed. */
export class ConfigError extends FinAegisError {
  readonly code = 'CONFIG';
  override readonly retryable = false;
  readonly key: string;

  constructor(key: string, value: unknown, allowed: string) {
    super(`invalid configuration ${key}=${JSON.stringify(value)}: expected ${allowed}`);
    this.key = key;
  }
}

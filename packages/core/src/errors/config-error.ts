import { FinAegisError } from './finaegis-error';

/**
 * Bad configuration, found at start-up. Names the key, the value and what is allowed, and in
 * `adapter` the package whose configuration it is.
 */
export class ConfigError extends FinAegisError {
  readonly code = 'CONFIG';
  override readonly retryable = false;
  readonly key: string;

  constructor(key: string, value: unknown, allowed: string, options?: { adapter?: string; cause?: unknown }) {
    super(`invalid configuration ${key}=${shown(value)}: expected ${allowed}`, options);
    this.key = key;
  }
}

function shown(value: unknown): string {
  try {
    return typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

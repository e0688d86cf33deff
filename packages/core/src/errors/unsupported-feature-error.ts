import { FinAegisError } from './finaegis-error';

/**
 * A send or consume asked for a feature (delay, priority, dedupe, ...) that the transport declares
 * it lacks. Refused loudly so a delayed command is never silently run at once.
 */
export class UnsupportedFeatureError extends FinAegisError {
  readonly code = 'UNSUPPORTED_FEATURE';
  override readonly retryable = false;
  readonly feature: string;
  readonly adapter: string;

  constructor(adapter: string, feature: string, detail?: string) {
    super(`[${adapter}] does not support ${feature}${detail ? `: ${detail}` : ''}`);
    this.adapter = adapter;
    this.feature = feature;
  }
}

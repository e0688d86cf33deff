import { FinAegisError } from './finaegis-error';

/**
 * A send or consume asked for a feature (delay, priority, dedupe, ...) that the transport declares
 * it lacks. Refused loudly so a delayed command is never silently run at once.
 */
export class UnsupportedFeatureError extends FinAegisError {
  readonly code = 'UNSUPPORTED_FEATURE';
  override readonly retryable = false;
  /** The transport's `name` (`memory`, `kafka`, ...). */
  readonly transport: string;
  readonly feature: string;

  /** `options.adapter`: the package that refused it (default `@finaegis/core`, the buses). */
  constructor(transport: string, feature: string, detail?: string, options?: { adapter?: string }) {
    super(`transport ${transport} does not support ${feature}${detail ? `: ${detail}` : ''}`, options);
    this.transport = transport;
    this.feature = feature;
  }
}

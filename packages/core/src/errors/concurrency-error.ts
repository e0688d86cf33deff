import { FinAegisError } from './finaegis-error';

/**
 * An append to an event stream found another version than expected: someone else wrote first.
 * Reload and retry (see `retryOnConcurrencyError`).
 */
export class ConcurrencyError extends FinAegisError {
  readonly code = 'CONCURRENCY';
  readonly streamId: string;
  readonly expectedVersion: number;
  readonly actualVersion: number | undefined;

  constructor(
    streamId: string,
    expectedVersion: number,
    actualVersion?: number,
    options?: { cause?: unknown; adapter?: string },
  ) {
    super(
      `stream ${streamId}: expected version ${expectedVersion}${actualVersion === undefined ? '' : `, found ${actualVersion}`}`,
      options,
    );
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

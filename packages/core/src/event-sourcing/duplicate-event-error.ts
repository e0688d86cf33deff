import { FinAegisError } from '../errors/finaegis-error';

/**
 * An append carried an `eventId` the stream already holds (or the same id twice in one batch).
 * Usually a replayed write; the append wrote nothing. Separate from `ConcurrencyError` because
 * reloading and retrying would fail the same way.
 */
export class DuplicateEventError extends FinAegisError {
  readonly code = 'DUPLICATE_EVENT';
  override readonly retryable = false;
  readonly streamId: string;
  readonly eventId: string;

  constructor(streamId: string, eventId: string, options?: { cause?: unknown; adapter?: string }) {
    super(`stream ${streamId}: event ${eventId} is already stored`, options);
    this.streamId = streamId;
    this.eventId = eventId;
  }
}

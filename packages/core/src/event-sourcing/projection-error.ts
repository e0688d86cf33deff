import { FinAegisError } from '../errors/finaegis-error';

/**
 * A projection's handler failed on an event. The checkpoint stays before that event, so the next
 * run starts with it again: skipping it would leave the read model silently wrong.
 */
export class ProjectionError extends FinAegisError {
  readonly code = 'PROJECTION';
  readonly projection: string;
  readonly position: number;
  readonly eventType: string;

  constructor(
    projection: string,
    position: number,
    eventType: string,
    options?: { cause?: unknown; adapter?: string },
  ) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`projection ${projection} failed at position ${position} (${eventType})${reason}`, options);
    this.projection = projection;
    this.position = position;
    this.eventType = eventType;
  }
}

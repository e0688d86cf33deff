import { describe } from './command-execution-error';
import { FinAegisError } from './finaegis-error';

/** One subscriber that failed while an event was published. */
export interface SubscriberFailure {
  readonly eventType: string;
  readonly subscriber: string;
  readonly error: unknown;
}

/**
 * One or more subscribers threw while events were published. Every other subscriber still ran
 * (publishing never stops at the first failure); this error lists each failure, and `cause` is
 * the first one.
 */
export class EventHandlingError extends FinAegisError {
  readonly code = 'EVENT_HANDLING';
  readonly failures: readonly SubscriberFailure[];

  constructor(failures: readonly SubscriberFailure[]) {
    const first = failures[0];
    super(
      `${failures.length} subscriber(s) failed: ${failures
        .map((f) => `${f.subscriber} on ${f.eventType}: ${describe(f.error)}`)
        .join('; ')}`,
      { cause: first?.error },
    );
    this.failures = failures;
  }
}

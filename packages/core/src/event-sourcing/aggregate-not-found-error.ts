import { FinAegisError } from '../errors/finaegis-error';

/**
 * `EventSourcedRepository.load` found no events (and no snapshot) for the id. A separate class so
 * callers can answer "404" with `instanceof` instead of reading messages. Not retryable: the
 * stream will not appear by asking again.
 */
export class AggregateNotFoundError extends FinAegisError {
  readonly code = 'AGGREGATE_NOT_FOUND';
  override readonly retryable = false;
  readonly aggregateType: string;
  readonly aggregateId: string;

  constructor(aggregateType: string, aggregateId: string) {
    super(`${aggregateType || 'aggregate'} ${JSON.stringify(aggregateId)} not found`);
    this.aggregateType = aggregateType;
    this.aggregateId = aggregateId;
  }
}

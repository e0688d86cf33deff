import { FinAegisError } from './finaegis-error';

/**
 * An operation that belongs to a unit of work (recording events) was called outside one. Recorded
 * events are never kept in a process-wide list, so there is nowhere to put them.
 */
export class UnitOfWorkError extends FinAegisError {
  readonly code = 'UNIT_OF_WORK';
  override readonly retryable = false;
}

import { FinAegisError } from '../errors/finaegis-error';

/** Why an action on a process was refused. */
export type ProcessErrorReason =
  /** No process of that type and id. */
  | 'not-found'
  /** `retry` of a process that is not `failed`. */
  | 'not-failed'
  /** An action on a process that has ended (`completed` or `compensated`). */
  | 'ended'
  /** `compensate` of a process whose definition has no `compensateWith`. */
  | 'no-compensation'
  /** A process type that no definition given to the manager has. */
  | 'unknown-type';

/**
 * An operator action on a process (`retry`, `compensate`, `get`) was refused. It exists so that a
 * caller (an admin page, a CLI) can tell "no such process" from "not in a state for that" with
 * `instanceof` and `reason`, without reading the message. Not retryable: the same call on the same
 * process fails the same way until its state changes.
 */
export class ProcessError extends FinAegisError {
  readonly code = 'PROCESS';
  override readonly retryable = false;
  readonly reason: ProcessErrorReason;
  readonly processType: string;
  readonly processId: string | undefined;

  constructor(
    reason: ProcessErrorReason,
    processType: string,
    processId: string | undefined,
    detail: string,
  ) {
    super(`process ${processType}${processId === undefined ? '' : `/${processId}`}: ${detail}`);
    this.reason = reason;
    this.processType = processType;
    this.processId = processId;
  }
}

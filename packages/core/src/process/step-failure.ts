import { FinAegisError } from '../errors/finaegis-error';
import type { ProcessErrorInfo } from './process-store';

/**
 * @internal A step of a process failed in its own code (the handler threw, or a command it sent
 * was refused as invalid). It carries the original error out of the step's transaction, which it
 * rolls back, so the manager can mark the process `failed`. It never leaves the manager.
 */
export class StepFailure extends FinAegisError {
  readonly code = 'PROCESS_STEP';
  override readonly retryable = false;
  readonly error: unknown;

  constructor(error: unknown) {
    super(`a process step failed: ${errorInfo(error).message}`, { cause: error });
    this.error = error;
  }
}

/** @internal An error as a process keeps it. */
export function errorInfo(error: unknown): ProcessErrorInfo {
  if (error instanceof Error) {
    return error.stack === undefined
      ? { name: error.name, message: error.message }
      : { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: 'Error', message: String(error) };
}

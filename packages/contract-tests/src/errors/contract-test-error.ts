/**
 * An error raised by the suite itself, not by the adapter under test: a harness left out a hook a
 * group needs or declared something its adapter lacks, a condition a test waits for never came,
 * an operation that had to fail succeeded. It exists so that a red contract test says at once
 * whether the adapter threw or the suite gave up.
 */
export class ContractTestError extends Error {
  override readonly name = 'ContractTestError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(`[@finaegis/contract-tests] ${message}`, options);
  }
}

/**
 * What the suite's handlers and transactions throw on purpose, so that a test can tell its own
 * planned failure from an adapter's error (and check that an adapter keeps the error's name).
 */
export class PlannedFailure extends Error {
  override readonly name = 'PlannedFailure';
}

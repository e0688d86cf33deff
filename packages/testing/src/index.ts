export {
  type AggregateGiven,
  type AggregateHistory,
  type AggregateSpecOptions,
  type AggregateWhen,
  aggregateSpec,
  type EventClass,
  type ExpectedEvent,
} from './aggregate-spec';
export {
  assertCached,
  assertDeadLettered,
  assertDispatched,
  assertPublished,
  assertSent,
  type BusCheckOptions,
  type CachedCheckOptions,
  type CheckResult,
  checkCached,
  checkDeadLettered,
  checkDispatched,
  checkPublished,
  checkSent,
  type DeadLetteredCheckOptions,
  type SentCheckOptions,
} from './assertions';
export {
  type Decider,
  type DeciderGiven,
  type DeciderWhen,
  deciderSpec,
  type ExpectedDeciderEvent,
} from './decider-spec';
export { type ErrorClass, type Like, like } from './expectations';
export { IdleTimeoutError } from './idle-timeout-error';
export type { AsymmetricMatcher, DataKeys, Expected, ExpectedFields } from './match';
export { type FinaegisMatchers, finaegisMatchers, type Matcher } from './matchers';
export type {
  CommandClass,
  ExpectedCommand,
  ProcessChecks,
  ProcessErrorOutcome,
  ProcessOutcome,
} from './process-outcome';
export { type ProcessSpecContext, type ProcessSpecStep, type TimePasses, timePasses } from './process-run';
export {
  type GivenStateOptions,
  type ProcessExpectation,
  type ProcessGiven,
  type ProcessSpecOptions,
  type ProcessWhen,
  processSpec,
} from './process-spec';
export {
  type ProjectionGiven,
  type ProjectionOutcome,
  type ProjectionSpecOptions,
  projectionSpec,
} from './projection-spec';
export type { BusRecord, CacheRecord, HandledRecord, Recorded, SentRecord } from './recorder';
export type { ErrorOutcome, Outcome, Settled } from './scenario';
export { SpecAssertionError } from './spec-assertion-error';
export {
  createTestAdapters,
  type IdleOptions,
  type TestAdapterSet,
  type TestAdapters,
  type TestAdaptersOptions,
} from './test-adapters';
export { createTestApp, type TestApp, type TestAppOptions } from './test-app';
export { createTestClock, type TestClock, type TestClockOptions } from './test-clock';

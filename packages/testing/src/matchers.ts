import type { Command, DomainEvent, MessageClass, Query, ResultOf } from '@finaegis/core';
import {
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
import type { ExpectedFields } from './match';
import type { Recorded } from './recorder';

/**
 * The matchers' types, for a runner's `expect` (declare them once in a setup or types file):
 *
 * ```ts
 * // vitest
 * declare module 'vitest' {
 *   interface Assertion<T> extends FinaegisMatchers<void> {}
 * }
 * // jest
 * declare global {
 *   namespace jest {
 *     interface Matchers<R> extends FinaegisMatchers<R> {}
 *   }
 * }
 * ```
 */
export interface FinaegisMatchers<R = unknown> {
  /** The app dispatched a command of `commandClass` whose fields match `fields`. */
  toHaveDispatched<C extends MessageClass<Command<unknown>>>(
    commandClass: C,
    fields?: ExpectedFields<InstanceType<C>>,
    options?: BusCheckOptions,
  ): R;
  /** The app published an event of `eventClass` whose fields match `fields`. */
  toHavePublished<C extends MessageClass<DomainEvent>>(
    eventClass: C,
    fields?: ExpectedFields<InstanceType<C>>,
    options?: BusCheckOptions,
  ): R;
  /** A message of `messageClass` whose fields match `fields` reached the transport. */
  toHaveSent<C extends MessageClass>(
    messageClass: C,
    fields?: ExpectedFields<InstanceType<C>>,
    options?: SentCheckOptions,
  ): R;
  /** The result of a query of `queryClass` whose fields match `fields` is in the cache now. */
  toHaveCached<C extends MessageClass<Query<unknown>>>(
    queryClass: C,
    fields?: ExpectedFields<InstanceType<C>>,
    options?: CachedCheckOptions<ResultOf<InstanceType<C>>>,
  ): R;
  /** A message of `messageClass` whose fields match `fields` was dead-lettered. */
  toHaveDeadLettered<C extends MessageClass>(
    messageClass: C,
    fields?: ExpectedFields<InstanceType<C>>,
    options?: DeadLetteredCheckOptions,
  ): R;
}

function isRecorded(value: unknown): value is Recorded {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as Partial<Recorded>).dispatched) &&
    Array.isArray((value as Partial<Recorded>).published) &&
    Array.isArray((value as Partial<Recorded>).sent)
  );
}

function notAnApp(received: unknown): CheckResult {
  return {
    pass: false,
    message: () =>
      `expected a test app (createTestApp() or createTestAdapters() of @finaegis/testing), got ${typeof received}`,
    actual: received,
    expected: 'a test app',
  };
}

/** One matcher: `expect.extend` calls it with the value under test and the arguments given. */
export type Matcher = (received: unknown, ...args: unknown[]) => CheckResult;

function matcher<A extends unknown[]>(run: (app: Recorded, ...args: A) => CheckResult): Matcher {
  const match = (received: unknown, ...args: A): CheckResult =>
    isRecorded(received) ? run(received, ...args) : notAnApp(received);
  return match as unknown as Matcher;
}

/**
 * The matchers, as an object that `expect.extend` of vitest and jest takes:
 * `expect.extend(finaegisMatchers)`, then `expect(app).toHavePublished(OrderPlaced, { pair:
 * 'BTC/USD' })` and `.not.toHavePublished(...)`. They need no runner: each returns `{ pass, message }`.
 * Under node:test use the assertion functions instead (`assertPublished(app, ...)`).
 */
export const finaegisMatchers: Readonly<Record<keyof FinaegisMatchers, Matcher>> = Object.freeze({
  toHaveDispatched: matcher(checkDispatched),
  toHavePublished: matcher(checkPublished),
  toHaveSent: matcher(checkSent),
  toHaveCached: matcher(checkCached),
  toHaveDeadLettered: matcher(checkDeadLettered),
});

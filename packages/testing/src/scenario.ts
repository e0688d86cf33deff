import { InvalidArgumentError, type MessageClass } from '@finaegis/core';
import { checkError, checkEvents, type ErrorClass, type Like } from './expectations';
import { type Expected, isOf, mismatch, shapedLike, typeName } from './match';
import { SpecAssertionError } from './spec-assertion-error';

/*
 * What aggregate and decider specs share: running the `when` step at once or after its promise,
 * and the outcome object with its `then…` checks.
 */

const ADAPTER = '@finaegis/testing';

/** `O`, or a promise of it when the `when` step returned a promise (`R`). */
export type Settled<R, O> = [R] extends [PromiseLike<unknown>] ? Promise<O> : O;

/** @internal How the `when` step ended. */
export type Ending<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: unknown };

/** @internal Runs `action` and hands its ending to `next`, at once or once its promise settles. */
export function settle<R, O>(action: () => R, next: (ending: Ending<Awaited<R>>) => O): O | Promise<O> {
  let value: R;
  try {
    value = action();
  } catch (error) {
    return next({ ok: false, error });
  }
  if (isPromiseLike(value)) {
    return Promise.resolve(value).then(
      (resolved) => next({ ok: true, value: resolved as Awaited<R> }),
      (error: unknown) => next({ ok: false, error }),
    );
  }
  return next({ ok: true, value: value as Awaited<R> });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** @internal Checks a `then…` argument list. */
export function checkFunction(value: unknown, argument: string): void {
  if (typeof value !== 'function') throw new InvalidArgumentError(ADAPTER, argument, 'must be a function');
}

/**
 * What a `when` step left: the new state, its events and the value it returned. Each `then…`
 * method checks one more thing and returns the outcome, so checks chain.
 */
export interface Outcome<S, E, R> {
  /** The state after the `when` step (an aggregate: the aggregate itself). */
  readonly state: S;
  /** The events the `when` step produced, in order. */
  readonly events: readonly E[];
  /** What the `when` step returned (awaited). */
  readonly result: R;
  /** The produced events of one class, typed. */
  eventsOf<C extends MessageClass>(eventClass: C): InstanceType<C>[];
  /**
   * Checks the state: a function that asserts (with any runner's `expect`, or throws), or, for a
   * plain-object state, the fields expected (deeply; fields left out are not checked).
   */
  thenState(expected: ((state: S, result: R) => void) | Expected<S>): this;
  /** Checks what the `when` step returned (deeply; object fields left out are not checked). */
  thenReturns(expected: Expected<R>): this;
}

/** What a `when` step that threw left: the error, and the state and events up to the throw. */
export interface ErrorOutcome<S, E, X> {
  readonly state: S;
  /** Events produced before the throw (an aggregate discards them; they are listed for checks). */
  readonly events: readonly E[];
  readonly error: X;
}

/** @internal The outcome object of a finished `when` step. */
export function outcome<S, E, R>(what: string, state: S, events: readonly E[], result: R): Outcome<S, E, R> {
  const self: Outcome<S, E, R> = {
    state,
    events,
    result,
    eventsOf: <C extends MessageClass>(eventClass: C) =>
      events.filter((event) => isOf(event, eventClass)) as unknown as InstanceType<C>[],
    thenState(expected) {
      if (typeof expected === 'function') {
        (expected as (state: S, result: R) => void)(state, result);
      } else {
        const problem = mismatch(state, expected, true);
        if (problem !== undefined) {
          throw new SpecAssertionError(`${what}: the state is not as expected: ${problem}`, {
            expected,
            actual: shapedLike(state, expected),
          });
        }
      }
      return self;
    },
    thenReturns(expected) {
      const problem = mismatch(result, expected, true);
      if (problem !== undefined) {
        throw new SpecAssertionError(`${what}: the result is not as expected: ${problem}`, {
          expected,
          actual: shapedLike(result, expected),
        });
      }
      return self;
    },
  };
  return self;
}

/** @internal The `then…` methods of a `when` step, over how it ended. */
export interface Verdicts<S, E, R> {
  thenEvents(
    expected: readonly unknown[],
    mode: 'exact' | 'include',
  ): Outcome<S, E, R> | Promise<Outcome<S, E, R>>;
  thenError(
    errorClass: ErrorClass,
    message: string | RegExp | undefined,
  ): ErrorOutcome<S, E, unknown> | Promise<ErrorOutcome<S, E, unknown>>;
}

/**
 * @internal Builds the `then…` methods: `run` performs given + when and reports the state, the
 * events produced and the ending; `allowed` checks each produced event's class.
 */
export function verdicts<S, E, R>(
  what: string,
  run: (next: (state: S, events: readonly E[], ending: Ending<Awaited<R>>) => unknown) => unknown,
): Verdicts<S, E, Awaited<R>> {
  return {
    thenEvents(expected, mode) {
      return run((state, events, ending) => {
        if (!ending.ok) {
          const error = ending.error;
          throw new SpecAssertionError(
            `${what}: expected events, but the when step threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
            { cause: error },
          );
        }
        checkEvents(events, expected, mode, what);
        return outcome(what, state, events, ending.value);
      }) as Outcome<S, E, Awaited<R>>;
    },
    thenError(errorClass, message) {
      if (typeof errorClass !== 'function') {
        throw new InvalidArgumentError(ADAPTER, 'errorClass', 'must be an error class');
      }
      return run((state, events, ending) => {
        checkError(ending.ok ? undefined : { error: ending.error }, errorClass, message, what, events);
        return { state, events, error: (ending as { error: unknown }).error };
      }) as ErrorOutcome<S, E, unknown>;
    },
  };
}

/** @internal Checks that every event is of one of the spec's event classes. */
export function checkDeclared(
  events: readonly unknown[],
  classes: readonly MessageClass[],
  what: string,
): void {
  for (const event of events) {
    if (!classes.some((cls) => isOf(event, cls))) {
      const name = typeof event === 'object' && event !== null ? typeName(event as never) : String(event);
      throw new SpecAssertionError(
        `${what}: ${name} is not among the event classes given to the spec (add it to \`events\`)`,
      );
    }
  }
}

export type { Like };

import { InvalidArgumentError, type Message, type MessageClass } from '@finaegis/core';
import type { ErrorClass, Like } from './expectations';
import { type ErrorOutcome, type Outcome, settle, verdicts } from './scenario';

const ADAPTER = '@finaegis/testing';

/**
 * An aggregate written as plain functions: `decide` turns a command and the current state into
 * events (or throws), `evolve` folds one event into the state, `initialState` is the state before
 * any event. Events and commands may be classes or plain objects.
 */
export interface Decider<Command, Event, State> {
  decide(command: Command, state: State): Event | readonly Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** An expected event of a decider: an event itself, or `like(Class, fields)` for class events. */
export type ExpectedDeciderEvent<E> = E | (E extends Message ? Like<MessageClass<E>> : never);

/** The result of `given`/`when` on a decider spec: run it with a `then…` step. */
export interface DeciderWhen<E, S> {
  /** Expects exactly these events from `decide`, in this order. */
  thenEvents(...expected: ExpectedDeciderEvent<E>[]): Outcome<S, E, readonly E[]>;
  /** Expects these events among those `decide` returned, in this order. */
  thenEventsInclude(...expected: ExpectedDeciderEvent<E>[]): Outcome<S, E, readonly E[]>;
  /** Expects `decide` to return no event. */
  thenNoEvents(): Outcome<S, E, readonly E[]>;
  /** Expects `decide` to throw `errorClass`, its message containing (string) or matching (RegExp) `message`. */
  thenError<X extends Error>(errorClass: ErrorClass<X>, message?: string | RegExp): ErrorOutcome<S, E, X>;
}

/** A decider spec with its past set. */
export interface DeciderGiven<C, E, S> {
  /** More past events. */
  given(...events: E[]): DeciderGiven<C, E, S>;
  /** The command decided now. */
  when(command: C): DeciderWhen<E, S>;
}

/**
 * Given–when–then for a decider (plain `decide`/`evolve` functions):
 *
 * ```ts
 * deciderSpec(account)
 *   .given({ type: 'Deposited', amount: 100n })
 *   .when({ type: 'Withdraw', amount: 30n })
 *   .thenEvents({ type: 'Withdrawn', amount: 30n })
 *   .thenState({ balance: 70n });
 * ```
 *
 * The state handed to `decide` is `initialState()` evolved by the given events; the outcome's state
 * is that evolved further by the decided events, and its `result` is the decided events.
 */
export function deciderSpec<C, E, S>(decider: Decider<C, E, S>): DeciderGiven<C, E, S> {
  for (const member of ['decide', 'evolve', 'initialState'] as const) {
    if (typeof decider?.[member] !== 'function') {
      throw new InvalidArgumentError(ADAPTER, `decider.${member}`, 'must be a function');
    }
  }
  return givenStep(decider, []);
}

function givenStep<C, E, S>(decider: Decider<C, E, S>, history: readonly E[]): DeciderGiven<C, E, S> {
  return {
    given: (...events) => givenStep(decider, [...history, ...events]),
    when(command) {
      const { thenEvents, thenError } = verdicts<S, E, readonly E[]>('decider spec', (next) => {
        const state = history.reduce(
          (current, event) => decider.evolve(current, event),
          decider.initialState(),
        );
        return settle(
          () => decider.decide(command, state),
          (ending) => {
            if (!ending.ok) return next(state, [], ending);
            const decided = (Array.isArray(ending.value) ? ending.value : [ending.value]) as readonly E[];
            const after = decided.reduce((current, event) => decider.evolve(current, event), state);
            return next(after, decided, { ok: true, value: decided });
          },
        );
      });
      return {
        thenEvents: (...expected) => thenEvents(expected, 'exact') as Outcome<S, E, readonly E[]>,
        thenEventsInclude: (...expected) => thenEvents(expected, 'include') as Outcome<S, E, readonly E[]>,
        thenNoEvents: () => thenEvents([], 'exact') as Outcome<S, E, readonly E[]>,
        thenError: <X extends Error>(errorClass: ErrorClass<X>, message?: string | RegExp) =>
          thenError(errorClass, message) as ErrorOutcome<S, E, X>,
      };
    },
  };
}

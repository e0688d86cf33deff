import {
  type AggregateRoot,
  type DomainEvent,
  InvalidArgumentError,
  type MessageClass,
} from '@finaegis/core';
import type { ErrorClass, Like } from './expectations';
import {
  checkDeclared,
  checkFunction,
  type ErrorOutcome,
  type Outcome,
  type Settled,
  settle,
  verdicts,
} from './scenario';

const ADAPTER = '@finaegis/testing';

/** A domain event class, as specs take them. */
export type EventClass<E extends DomainEvent = DomainEvent> = MessageClass<E>;

/** An event a `then…` step expects: an instance (same class, same fields) or a `like(...)`. */
export type ExpectedEvent<C extends EventClass> = InstanceType<C> | Like<C>;

/** One `given` step of an aggregate spec: a past event, or a call whose events become the past. */
export type AggregateHistory<A, C extends EventClass> = InstanceType<C> | ((aggregate: A) => unknown);

/** Options of {@link aggregateSpec}. */
export interface AggregateSpecOptions<A extends AggregateRoot, Events extends readonly EventClass[]> {
  /**
   * Every event class the aggregate raises. `given` and `then…` take only these (anything else is
   * a compile error), and an event of another class raised in a spec fails it.
   */
  readonly events: Events;
  /** The aggregate's id. Default `'spec'`. */
  readonly id?: string;
  /** Builds an empty aggregate; default `new AggregateClass(id)` (for aggregates with dependencies). */
  readonly create?: (id: string) => A;
}

/**
 * The result of `given`/`when` on an aggregate spec: run it with a `then…` step. Each `then…` runs
 * the whole scenario on a new aggregate, so one `given` can be shared by many tests.
 */
export interface AggregateWhen<A, C extends EventClass, R> {
  /** Expects exactly these events from the `when` step, in this order. */
  thenEvents(...expected: ExpectedEvent<C>[]): Settled<R, Outcome<A, InstanceType<C>, Awaited<R>>>;
  /** Expects these events among those of the `when` step, in this order (others may come between). */
  thenEventsInclude(...expected: ExpectedEvent<C>[]): Settled<R, Outcome<A, InstanceType<C>, Awaited<R>>>;
  /** Expects the `when` step to raise nothing (it may still return something: see `result`). */
  thenNoEvents(): Settled<R, Outcome<A, InstanceType<C>, Awaited<R>>>;
  /**
   * Expects the `when` step to throw (or reject with) an instance of `errorClass`, with a message
   * containing `message` (a string) or matching it (a RegExp).
   */
  thenError<X extends Error>(
    errorClass: ErrorClass<X>,
    message?: string | RegExp,
  ): Settled<R, ErrorOutcome<A, InstanceType<C>, X>>;
}

/** An aggregate spec with its past set (see {@link aggregateSpec}). */
export interface AggregateGiven<A, C extends EventClass> {
  /** More past: events, or calls whose events become the past. */
  given(...history: AggregateHistory<A, C>[]): AggregateGiven<A, C>;
  /** What happens now: a call on the aggregate (its return value is the outcome's `result`). */
  when<R>(action: (aggregate: A) => R): AggregateWhen<A, C, R>;
}

/**
 * Given–when–then for an event-sourced aggregate (`AggregateRoot` of `@finaegis/core`):
 *
 * ```ts
 * const account = aggregateSpec(Account, { events: [Deposited, Withdrawn] });
 * account
 *   .given(new Deposited('100'))
 *   .when((a) => a.withdraw('30'))
 *   .thenEvents(like(Withdrawn, { amount: '30' }))
 *   .thenState((a) => assert.equal(a.balance, 70n));
 * ```
 *
 * `given` events are replayed with `loadFromHistory` (as the repository loads them); the events
 * the `when` call raises are the ones checked. A `when` that returns a promise makes `then…`
 * return a promise of the outcome.
 */
export function aggregateSpec<A extends AggregateRoot, const Events extends readonly EventClass[]>(
  aggregateClass: new (id: string) => A,
  options: AggregateSpecOptions<A, Events>,
): AggregateGiven<A, Events[number]> {
  if (typeof aggregateClass !== 'function') {
    throw new InvalidArgumentError(ADAPTER, 'aggregateClass', 'must be an aggregate class');
  }
  if (!Array.isArray(options?.events) || options.events.some((cls) => typeof cls !== 'function')) {
    throw new InvalidArgumentError(ADAPTER, 'events', 'must be an array of event classes');
  }
  const id = options.id ?? 'spec';
  const create = options.create ?? ((aggregateId: string) => new aggregateClass(aggregateId));
  const what = `${aggregateClass.name || 'aggregate'} spec`;
  return givenStep<A, Events[number]>([], { create: () => create(id), classes: options.events, what });
}

interface Setup<A> {
  readonly create: () => A;
  readonly classes: readonly EventClass[];
  readonly what: string;
}

function givenStep<A extends AggregateRoot, C extends EventClass>(
  history: readonly AggregateHistory<A, C>[],
  setup: Setup<A>,
): AggregateGiven<A, C> {
  return {
    given: (...more) => givenStep([...history, ...more], setup),
    when<R>(action: (aggregate: A) => R): AggregateWhen<A, C, R> {
      checkFunction(action, 'when');
      const { thenEvents, thenError } = verdicts<A, InstanceType<C>, R>(setup.what, (next) => {
        const aggregate = replay(history, setup);
        const before = aggregate.uncommittedEvents.length;
        const events = () =>
          aggregate.uncommittedEvents.slice(before) as unknown as readonly InstanceType<C>[];
        return settle(
          () => action(aggregate),
          (ending) => {
            const raised = events();
            checkDeclared(raised, setup.classes, `${setup.what}, when`);
            return next(aggregate, raised, ending);
          },
        );
      });
      type O = Settled<R, Outcome<A, InstanceType<C>, Awaited<R>>>;
      return {
        thenEvents: (...expected) => thenEvents(expected, 'exact') as O,
        thenEventsInclude: (...expected) => thenEvents(expected, 'include') as O,
        thenNoEvents: () => thenEvents([], 'exact') as O,
        thenError: <X extends Error>(errorClass: ErrorClass<X>, message?: string | RegExp) =>
          thenError(errorClass, message) as Settled<R, ErrorOutcome<A, InstanceType<C>, X>>,
      };
    },
  };
}

/**
 * A new aggregate with the history applied, as a repository would load it: the events of the past
 * (given ones, and those each given call raised on the aggregate as it was then) replayed onto an
 * empty aggregate, so nothing is left uncommitted.
 */
function replay<A extends AggregateRoot, C extends EventClass>(
  history: readonly AggregateHistory<A, C>[],
  setup: Setup<A>,
): A {
  const past: DomainEvent[] = [];
  const load = () => {
    const aggregate = setup.create();
    aggregate.loadFromHistory(past);
    return aggregate;
  };
  for (const step of history) {
    if (typeof step === 'function') {
      const aggregate = load();
      (step as (aggregate: A) => unknown)(aggregate);
      checkDeclared(aggregate.uncommittedEvents, setup.classes, `${setup.what}, given`);
      past.push(...aggregate.uncommittedEvents);
    } else {
      checkDeclared([step], setup.classes, `${setup.what}, given`);
      past.push(step as DomainEvent);
    }
  }
  return load();
}

import {
  type CatchUpResult,
  createCqrs,
  type DomainEvent,
  EventSerializer,
  InvalidArgumentError,
  MessageRegistry,
  type Projection,
  Projector,
  type Query,
  type QueryBus,
  type ResultOf,
  silentLogger,
} from '@finaegis/core';
import { createMemoryCheckpointStore, createMemoryEventStore } from '@finaegis/memory';
import type { EventClass } from './aggregate-spec';
import { type Expected, mismatch, shapedLike, typeName } from './match';
import { checkDeclared } from './scenario';
import { SpecAssertionError } from './spec-assertion-error';

const ADAPTER = '@finaegis/testing';

/** Options of {@link projectionSpec}. */
export interface ProjectionSpecOptions<Events extends readonly EventClass[]> {
  /** Every event class the projection may see. `given` takes only these (others: a compile error). */
  readonly events: Events;
  /** Registers the query handlers that read the read model, for `thenAnswers`. */
  readonly queries?: (queryBus: QueryBus) => void;
}

/** What a projection spec ran: how many events the projection applied, and the checkpoint. */
export type ProjectionOutcome = CatchUpResult;

/** A projection spec with its events given. */
export interface ProjectionGiven<C extends EventClass> {
  /** More events. */
  given(...events: InstanceType<C>[]): ProjectionGiven<C>;
  /**
   * Runs the projection over the events, then `check` (assert the read model in it, with any
   * runner's `expect`, or throw).
   */
  thenReadModel(check: () => void | Promise<void>): Promise<ProjectionOutcome>;
  /**
   * Runs the projection over the events, then asks `query` through the handlers registered by the
   * `queries` option and checks the answer (deeply; object fields left out are not checked).
   */
  thenAnswers<Q extends Query<unknown>>(
    query: Q,
    expected: Expected<ResultOf<Q>>,
  ): Promise<ProjectionOutcome>;
}

/**
 * Given–when–then for a projection (`Projection` of `@finaegis/core`): the given events are stored
 * in a memory event store (through the serializer, so the projection sees them as it would in
 * production: rebuilt from storage), a `Projector` rebuilds the projection over them — running its
 * `onReset` first, so register one to start every spec from an empty read model — and then the
 * read model or a query answer is checked.
 *
 * ```ts
 * await projectionSpec(balances, { events: [Deposited], queries: (bus) => bus.register(GetBalance, read) })
 *   .given(new Deposited('alice', '10'), new Deposited('alice', '5'))
 *   .thenAnswers(new GetBalance('alice'), '15');
 * ```
 */
export function projectionSpec<const Events extends readonly EventClass[]>(
  projection: Projection,
  options: ProjectionSpecOptions<Events>,
): ProjectionGiven<Events[number]> {
  if (typeof projection?.apply !== 'function' || typeof projection.name !== 'string') {
    throw new InvalidArgumentError(ADAPTER, 'projection', 'must be a Projection');
  }
  if (!Array.isArray(options?.events) || options.events.some((cls) => typeof cls !== 'function')) {
    throw new InvalidArgumentError(ADAPTER, 'events', 'must be an array of event classes');
  }
  return givenStep(projection, options, []);
}

function givenStep<C extends EventClass>(
  projection: Projection,
  options: ProjectionSpecOptions<readonly EventClass[]>,
  events: readonly DomainEvent[],
): ProjectionGiven<C> {
  const what = `projection spec ${projection.name}`;
  const run = async (): Promise<ProjectionOutcome> => {
    checkDeclared(events, options.events, `${what}, given`);
    const registry = new MessageRegistry().register(...options.events);
    const serializer = new EventSerializer(registry);
    const store = createMemoryEventStore();
    const versions = new Map<string, number>();
    for (const event of events) {
      const streamId = `${event.aggregateType || 'spec'}-${event.aggregateId || 'stream'}`;
      const version = (versions.get(streamId) ?? 0) + 1;
      versions.set(streamId, version);
      await store.append(streamId, [serializer.serialize(event)], { expectedVersion: version - 1 });
    }
    const projector = new Projector(projection, {
      store,
      checkpoints: createMemoryCheckpointStore(),
      registry,
    });
    return projector.rebuild();
  };
  return {
    given: (...more) => givenStep(projection, options, [...events, ...more]),
    async thenReadModel(check) {
      if (typeof check !== 'function') throw new InvalidArgumentError(ADAPTER, 'check', 'must be a function');
      const outcome = await run();
      await check();
      return outcome;
    },
    async thenAnswers(query, expected) {
      if (options.queries === undefined) {
        throw new InvalidArgumentError(
          ADAPTER,
          'queries',
          'must register the query handlers to use thenAnswers',
        );
      }
      const outcome = await run();
      const app = createCqrs({ logger: silentLogger });
      try {
        options.queries(app.queryBus);
        const answer = await app.queryBus.ask(query);
        const problem = mismatch(answer, expected, true);
        if (problem !== undefined) {
          throw new SpecAssertionError(`${what}: ${typeName(query)} answered otherwise: ${problem}`, {
            expected,
            actual: shapedLike(answer, expected),
          });
        }
      } finally {
        await app.close();
      }
      return outcome;
    },
  };
}

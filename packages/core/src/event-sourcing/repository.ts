import { currentUnitOfWork } from '../buses/unit-of-work';
import { ConfigError } from '../errors/config-error';
import type { DomainEvent } from '../messages';
import type { AppendResult, EventStore } from '../ports/event-store';
import type { MessageRegistry } from '../serialization';
import { AggregateNotFoundError } from './aggregate-not-found-error';
import type { AggregateClass, AggregateRoot } from './aggregate-root';
import { EventSerializer, fromJsonRecord, toJsonRecord } from './event-serializer';
import type { SnapshotPolicy } from './snapshot-policy';
import type { Upcaster, UpcasterChain } from './upcasting';

/** The part of the event bus a repository uses (`app.eventBus` fits). */
export interface EventPublisher {
  publishMultiple(events: readonly DomainEvent[]): Promise<void>;
  record(event: DomainEvent): void;
}

/** Options of `new EventSourcedRepository(AggregateClass, options)`. */
export interface EventSourcedRepositoryOptions<A extends AggregateRoot> {
  readonly store: EventStore;
  /** Event classes the aggregate raises must be registered here. */
  readonly registry: MessageRegistry;
  readonly upcasters?: UpcasterChain | readonly Upcaster[];
  /** Where saved events go. Without one, events are only stored. */
  readonly bus?: EventPublisher;
  /**
   * Whether a unit of work is active; then saved events are `record`ed on the bus (they leave
   * after commit) instead of published at once. Default: `currentUnitOfWork()` of the buses.
   */
  readonly inUnitOfWork?: () => boolean;
  /** When to snapshot after a save. Default: never (snapshots already stored are still used). */
  readonly snapshotPolicy?: SnapshotPolicy;
  /**
   * Told when saving a snapshot fails. The events are stored by then, so the save still succeeds
   * (a snapshot only speeds loading up). Default: ignore.
   */
  readonly onSnapshotError?: (error: unknown, aggregate: A) => void;
  /** Builds an empty aggregate (default `new AggregateClass(id)`), for aggregates with dependencies. */
  readonly factory?: (id: string) => A;
  /** Stream id of an aggregate id. Default `${aggregateType}-${id}`. */
  readonly streamId?: (aggregateId: string) => string;
  /** Events read per call while loading. Default 1000. */
  readonly pageSize?: number;
}

/** Snapshot state as stored: `encodeJson` form, so dates and bigints survive any store. */
interface StoredState {
  readonly state: unknown;
}

/**
 * Loads and saves event-sourced aggregates: load = latest usable snapshot + the events after it;
 * save = append the new events expecting the version that was loaded (optimistic concurrency,
 * `ConcurrencyError` when someone else wrote first), maybe snapshot, then publish the events, or
 * record them when a unit of work is active so they leave only after it commits.
 */
export class EventSourcedRepository<A extends AggregateRoot> {
  readonly aggregateType: string;
  readonly serializer: EventSerializer;
  readonly #options: EventSourcedRepositoryOptions<A>;
  readonly #aggregateClass: AggregateClass<A>;
  readonly #pageSize: number;
  readonly #inUnitOfWork: () => boolean;

  constructor(aggregateClass: AggregateClass<A>, options: EventSourcedRepositoryOptions<A>) {
    const type = aggregateClass.aggregateType;
    if (typeof type !== 'string' || type === '') {
      throw new ConfigError(
        `${aggregateClass.name || 'aggregate'}.aggregateType`,
        type,
        `a stable name: static readonly aggregateType = 'my.${aggregateClass.name || 'Aggregate'}'`,
      );
    }
    const pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1)
      throw new ConfigError('pageSize', pageSize, 'a positive integer');
    this.aggregateType = type;
    this.#aggregateClass = aggregateClass;
    this.#options = options;
    this.#pageSize = pageSize;
    this.#inUnitOfWork = options.inUnitOfWork ?? (() => currentUnitOfWork() !== undefined);
    this.serializer = new EventSerializer(
      options.registry,
      options.upcasters === undefined ? {} : { upcasters: options.upcasters },
    );
  }

  /** The stream holding an aggregate's events. */
  streamIdOf(aggregateId: string): string {
    return this.#options.streamId?.(aggregateId) ?? `${this.aggregateType}-${aggregateId}`;
  }

  /** A new, empty aggregate (version 0); `save` creates its stream. */
  create(aggregateId: string): A {
    return this.#options.factory?.(aggregateId) ?? new this.#aggregateClass(aggregateId);
  }

  /** @throws AggregateNotFoundError when the aggregate has no events. */
  async load(aggregateId: string): Promise<A> {
    const aggregate = await this.find(aggregateId);
    if (aggregate === undefined) throw new AggregateNotFoundError(this.aggregateType, aggregateId);
    return aggregate;
  }

  /** The aggregate, or `undefined` when it has no events. */
  async find(aggregateId: string): Promise<A | undefined> {
    const store = this.#options.store;
    const streamId = this.streamIdOf(aggregateId);
    const aggregate = this.create(aggregateId);
    let fromVersion = 1;
    if (aggregate.snapshot !== undefined && aggregate.restore !== undefined) {
      const snapshot = await store.loadSnapshot(streamId);
      const wanted = this.#aggregateClass.snapshotSchemaVersion ?? 1;
      // A snapshot of another shape is skipped, not migrated: the events can always rebuild it.
      if (snapshot !== undefined && (snapshot.schemaVersion ?? 1) === wanted) {
        const { state } = fromJsonRecord(snapshot.state as Record<string, unknown>) as unknown as StoredState;
        aggregate.restoreSnapshot(state, snapshot.version);
        fromVersion = snapshot.version + 1;
      }
    }
    for (;;) {
      const page = await store.readStream(streamId, { fromVersion, limit: this.#pageSize });
      if (page.length > 0)
        aggregate.loadFromHistory(page.map((stored) => this.serializer.deserialize(stored)));
      if (page.length < this.#pageSize) break;
      fromVersion = page[page.length - 1]!.version + 1;
    }
    return aggregate.version === 0 ? undefined : aggregate;
  }

  /**
   * Appends the aggregate's new events, expecting the stream at the version it was loaded with.
   * @throws ConcurrencyError when another writer saved first; nothing is written, and the
   *   aggregate is stale: load it again (see `retryOnConcurrencyError`).
   */
  async save(aggregate: A): Promise<AppendResult> {
    const events = [...aggregate.uncommittedEvents];
    const previousVersion = aggregate.persistedVersion;
    const store = this.#options.store;
    const streamId = this.streamIdOf(aggregate.id);
    if (events.length === 0) {
      return store.append(streamId, [], { expectedVersion: previousVersion });
    }
    for (const event of events) {
      if (event.aggregateType === '') event.assignIdentity({ aggregateType: this.aggregateType });
    }
    const result = await store.append(
      streamId,
      events.map((event) => this.serializer.serialize(event)),
      { expectedVersion: previousVersion },
    );
    aggregate.markCommitted();
    await this.#maybeSnapshot(aggregate, streamId, previousVersion, result.version);
    const bus = this.#options.bus;
    if (bus !== undefined) {
      if (this.#inUnitOfWork()) for (const event of events) bus.record(event);
      else await bus.publishMultiple(events);
    }
    return result;
  }

  async #maybeSnapshot(
    aggregate: A,
    streamId: string,
    previousVersion: number,
    version: number,
  ): Promise<void> {
    const policy = this.#options.snapshotPolicy;
    if (policy === undefined || aggregate.snapshot === undefined) return;
    if (!policy.shouldSnapshot({ previousVersion, version })) return;
    try {
      const stored: StoredState = { state: aggregate.snapshot() };
      await this.#options.store.saveSnapshot({
        streamId,
        version,
        state: toJsonRecord(stored as unknown as Record<string, unknown>),
        schemaVersion: this.#aggregateClass.snapshotSchemaVersion ?? 1,
      });
    } catch (error) {
      this.#options.onSnapshotError?.(error, aggregate);
    }
  }
}

import {
  ConcurrencyError,
  type DomainEvent,
  EventSerializer,
  type EventStore,
  type MessageRegistry,
  retryOnConcurrencyError,
} from '@finaegis/core';
import { Exchange } from './exchange';
import { EXCHANGE_EVENTS } from './messages';

export interface ExchangeEngineOptions {
  readonly store: EventStore;
  readonly registry: MessageRegistry;
  /** The stream holding the whole exchange. */
  readonly streamId: string;
  /** Gets the events of each successful decision, after they were stored. */
  readonly publish?: (events: readonly DomainEvent[]) => Promise<void>;
  /** Events read per call while catching up. Default 1000. */
  readonly pageSize?: number;
}

/**
 * Runs decisions against the exchange with the event store as the one source of truth, so any
 * number of processes (API and workers) can share it:
 *
 * 1. catch up: apply the events other processes stored since we last looked;
 * 2. decide: call the exchange, which raises (and applies) new events;
 * 3. append them expecting the version we decided on. When another process appended first, the
 *    store refuses (`ConcurrencyError`), our in-memory exchange is thrown away and rebuilt from
 *    the store, and the decision runs again.
 *
 * Within one process decisions run one at a time, so they never conflict with each other.
 */
export class ExchangeEngine {
  readonly #options: ExchangeEngineOptions;
  readonly #serializer: EventSerializer;
  readonly #pageSize: number;
  #exchange: Exchange;
  #tail: Promise<unknown> = Promise.resolve();
  #conflicts = 0;

  constructor(options: ExchangeEngineOptions) {
    this.#options = options;
    options.registry.register(...EXCHANGE_EVENTS);
    this.#serializer = new EventSerializer(options.registry);
    this.#pageSize = options.pageSize ?? 1000;
    this.#exchange = new Exchange('main');
  }

  /** Appends that lost a race with another process (each was retried). */
  get conflicts(): number {
    return this.#conflicts;
  }

  /** Runs a decision and stores its events; returns what the decision returned. */
  async execute<T>(decide: (exchange: Exchange) => T): Promise<T> {
    const { result, events } = await this.#exclusive(() =>
      retryOnConcurrencyError(
        async () => {
          await this.#catchUp();
          const exchange = this.#exchange;
          let result: T;
          try {
            result = decide(exchange);
          } catch (error) {
            // A decision that raised events and then threw leaves applied, unstored changes behind.
            if (exchange.uncommittedEvents.length > 0) this.#exchange = new Exchange('main');
            throw error;
          }
          const events = [...exchange.uncommittedEvents];
          if (events.length > 0) {
            try {
              await this.#options.store.append(
                this.#options.streamId,
                events.map((event) => this.#serializer.serialize(event)),
                { expectedVersion: exchange.persistedVersion },
              );
            } catch (error) {
              this.#exchange = new Exchange('main');
              if (error instanceof ConcurrencyError) this.#conflicts += 1;
              throw error;
            }
            exchange.markCommitted();
          }
          return { result, events };
        },
        { attempts: 50, backoff: { type: 'exponential', delayMs: 2, maxDelayMs: 100 } },
      ),
    );
    if (events.length > 0) await this.#options.publish?.(events);
    return result;
  }

  /** Reads the exchange once it has caught up with the store. */
  read<T>(read: (exchange: Exchange) => T): Promise<T> {
    return this.#exclusive(async () => {
      await this.#catchUp();
      return read(this.#exchange);
    });
  }

  async #catchUp(): Promise<void> {
    for (;;) {
      const page = await this.#options.store.readStream(this.#options.streamId, {
        fromVersion: this.#exchange.version + 1,
        limit: this.#pageSize,
      });
      if (page.length > 0)
        this.#exchange.loadFromHistory(page.map((stored) => this.#serializer.deserialize(stored)));
      if (page.length < this.#pageSize) return;
    }
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work, work);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

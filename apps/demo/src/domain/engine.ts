import { AsyncLocalStorage } from 'node:async_hooks';
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

/** Most decisions one locked transaction takes (see `ExchangeEngine.execute`). */
const MAX_BATCH = 64;

/** A decision's result and the events it stored. */
interface Decided {
  readonly result: unknown;
  readonly events: readonly DomainEvent[];
}

interface Pending {
  readonly decide: (exchange: Exchange) => unknown;
  readonly resolve: (decided: Decided) => void;
  readonly reject: (error: unknown) => void;
}

export interface ExchangeEngineOptions {
  readonly store: EventStore;
  readonly registry: MessageRegistry;
  /** The stream holding the whole exchange. */
  readonly streamId: string;
  /** Gets the events of each successful decision, after they were stored. */
  readonly publish?: (events: readonly DomainEvent[]) => Promise<void>;
  /** Events read per call while catching up. Default 1000. */
  readonly pageSize?: number;
  /**
   * Runs work in a transaction of the event store's transaction manager. Given, and with a store
   * that can lock a stream (`EventStore.lockStream`, PostgreSQL), each decision takes the stream's
   * write lock first, so processes sharing the stream take turns instead of racing and retrying.
   */
  readonly transaction?: <T>(work: () => Promise<T>) => Promise<T>;
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
 * Within one process decisions run one at a time, so they never conflict with each other. Across
 * processes, optimistic retries alone collapse under load: with four workers and an API on one
 * stream most appends lost the race, backed off and read the stream again, and p99 latency grew
 * with every worker added. So where the store can lock a stream (PostgreSQL), each decision runs in
 * a transaction that first takes the stream's write lock, then catches up, decides and appends:
 * writers queue (a short wait each) and no work is thrown away. Decisions that arrive in one
 * process while its batch holds the lock go together in the next transaction (one lock, one
 * commit for up to 64), so the lock is taken per batch, not per order. The version check stays as
 * the safety net for writers that do not lock.
 *
 * The limit this leaves is the one stream: decisions for the whole exchange are serial, so adding
 * processes adds no decision throughput (it spreads HTTP, decoding and publishing). Growing past
 * it needs a stream per pair with balances held apart (reservations across streams).
 */
export class ExchangeEngine {
  readonly #options: ExchangeEngineOptions;
  readonly #serializer: EventSerializer;
  readonly #pageSize: number;
  #exchange: Exchange;
  #tail: Promise<unknown> = Promise.resolve();
  #conflicts = 0;
  /** Decisions that queued while a batch was deciding: the next batch takes them all. */
  readonly #waiting: Pending[] = [];
  #draining = false;
  /**
   * Runs work in the async context the engine was made in, so a batch never joins the transaction
   * (or unit of work) of whichever caller happened to start it: decisions commit on their own.
   */
  readonly #detached = AsyncLocalStorage.snapshot();

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

  /**
   * Runs a decision and stores its events; returns what the decision returned. With a stream lock
   * the decision commits in a transaction of its own (with others of this process), never in one
   * the caller is running.
   */
  execute<T>(decide: (exchange: Exchange) => T): Promise<T> {
    if (this.#options.transaction === undefined || this.#options.store.lockStream === undefined) {
      return this.#executeOptimistic(decide);
    }
    return this.#executeLocked(decide);
  }

  async #executeLocked<T>(decide: (exchange: Exchange) => T): Promise<T> {
    const { result, events } = await new Promise<Decided>((resolve, reject) => {
      this.#waiting.push({ decide, resolve, reject });
      void this.#detached(() => this.#drain());
    });
    // Published here, in the caller's async context (its trace), not in the batch's.
    if (events.length > 0) await this.#options.publish?.(events);
    return result as T;
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0, MAX_BATCH);
        await this.#exclusive(() => this.#runBatch(batch));
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * One transaction for a batch of decisions: take the stream's lock, catch up, then decide and
   * append each in turn. A decision that throws is answered with its error after the commit and
   * the others still count. Catching up first outside the lock keeps the time the lock is held to
   * the few events appended since.
   */
  async #runBatch(batch: readonly Pending[]): Promise<void> {
    const store = this.#options.store;
    const transaction = this.#options.transaction!;
    type Outcome = { ok: true; result: unknown; events: DomainEvent[] } | { ok: false; error: unknown };
    let outcomes: Outcome[] = [];
    let appended = false;
    try {
      await this.#catchUp();
      await retryOnConcurrencyError(
        async () => {
          outcomes = [];
          appended = false;
          try {
            await transaction(async () => {
              await store.lockStream!(this.#options.streamId);
              await this.#catchUp();
              for (const pending of batch) {
                const exchange = this.#exchange;
                let result: unknown;
                try {
                  result = pending.decide(exchange);
                } catch (error) {
                  outcomes.push({ ok: false, error });
                  if (exchange.uncommittedEvents.length > 0) {
                    // Applied but not to be stored: rebuild, reading this transaction's own appends too.
                    this.#exchange = new Exchange('main');
                    await this.#catchUp();
                  }
                  continue;
                }
                const events = [...exchange.uncommittedEvents];
                if (events.length > 0) {
                  await this.#append(exchange, events);
                  appended = true;
                }
                outcomes.push({ ok: true, result, events });
              }
            });
          } catch (error) {
            // Applied here as stored, but the transaction did not commit: start over from the store.
            if (appended) this.#exchange = new Exchange('main');
            throw error;
          }
        },
        { attempts: 50, backoff: { type: 'exponential', delayMs: 2, maxDelayMs: 100 } },
      );
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    for (const [i, pending] of batch.entries()) {
      const outcome = outcomes[i]!;
      if (!outcome.ok) {
        pending.reject(outcome.error);
        continue;
      }
      pending.resolve({ result: outcome.result, events: outcome.events });
    }
  }

  /** Appends a decision's events at the version it was decided on; counts a lost race. */
  async #append(exchange: Exchange, events: readonly DomainEvent[]): Promise<void> {
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

  /** Without a stream lock: decide on what was read, append expecting that version, retry on a lost race. */
  async #executeOptimistic<T>(decide: (exchange: Exchange) => T): Promise<T> {
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
          if (events.length > 0) await this.#append(exchange, events);
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

import { ConfigError } from '../errors/config-error';
import type { DomainEvent, MessageClass } from '../messages';
import { messageTypeOf } from '../messages';
import type { CheckpointStore, EventStore, StoredEvent } from '../ports/event-store';
import { consoleLogger, type Logger } from '../ports/logger';
import type { MessageRegistry } from '../serialization';
import { EventSerializer } from './event-serializer';
import { ProjectionError } from './projection-error';
import type { Upcaster, UpcasterChain } from './upcasting';

/** Where an event sits in the store, passed to projection handlers beside the event. */
export interface ProjectionContext {
  readonly position: number;
  readonly streamId: string;
}

/** A projection's handler of one event class; it gets the event and where it sits in the store. */
export type ProjectionHandler<E extends DomainEvent> = (
  event: E,
  context: ProjectionContext,
) => void | Promise<void>;

/**
 * A read model built from the global event stream: handlers per event type, and a reset that
 * empties the read model before a rebuild. Events of other types are skipped without decoding.
 */
export class Projection {
  /** Unique name: the key of its checkpoint. */
  readonly name: string;
  readonly #handlers = new Map<string, ProjectionHandler<DomainEvent>>();
  #reset: (() => void | Promise<void>) | undefined;

  constructor(name: string) {
    if (typeof name !== 'string' || name === '')
      throw new ConfigError('projection name', name, 'a non-empty string');
    this.name = name;
  }

  /** Handles one event type (one handler per type; registering again replaces it). */
  on<E extends DomainEvent>(eventClass: MessageClass<E>, handler: ProjectionHandler<E>): this {
    this.#handlers.set(messageTypeOf(eventClass), handler as ProjectionHandler<DomainEvent>);
    return this;
  }

  /** Empties the read model; called by `Projector.rebuild()` before replaying from position 0. */
  onReset(reset: () => void | Promise<void>): this {
    this.#reset = reset;
    return this;
  }

  /** Whether events of this wire type are handled. */
  handles(eventType: string): boolean {
    return this.#handlers.has(eventType);
  }

  /** Applies an event (does nothing for types it does not handle). */
  async apply(event: DomainEvent, context: ProjectionContext): Promise<void> {
    const handler = this.#handlers.get(messageTypeOf(event));
    if (handler !== undefined) await handler(event, context);
  }

  async reset(): Promise<void> {
    await this.#reset?.();
  }
}

/**
 * Lets one process at a time run a projection with `Projector.start()`, so two processes running
 * the same projection do not both apply every event. Adapters implement it with what their store
 * offers (an advisory lock, a lease row); a holder that dies must lose it on its own, so another
 * process can take over.
 */
export interface ProjectionLease {
  /**
   * Becomes or stays the holder for `projection`: resolves `true` while this process holds the
   * lease, `false` when another does. Must not wait for the other holder to let go; the projector
   * calls it before every batch and retries after `pollIntervalMs`.
   */
  acquire(projection: string): Promise<boolean>;
  /** Lets the lease go, so another process can take it at once. Idempotent. */
  release(projection: string): Promise<void>;
}

/** Options of `new Projector(projection, options)`. */
export interface ProjectorOptions {
  readonly store: EventStore;
  readonly checkpoints: CheckpointStore;
  /** Classes of the handled events. */
  readonly registry: MessageRegistry;
  readonly upcasters?: UpcasterChain | readonly Upcaster[];
  /** Events read per call. Default 500. */
  readonly batchSize?: number;
  /** Wait between polls once caught up, in `start()` mode. Default 200 ms. */
  readonly pollIntervalMs?: number;
  /**
   * Told about failures in `start()` mode. The projector keeps polling, waiting longer after each
   * failure in a row (up to 30 s). Default: logged.
   */
  readonly onError?: (error: unknown) => void;
  readonly logger?: Logger;
  /**
   * In `start()` mode, apply events only while holding this lease (checked before every batch);
   * processes without it wait and retry every `pollIntervalMs`. `catchUp()` and `rebuild()` called
   * directly do not take it. Default: none (every running projector applies every event).
   */
  readonly lease?: ProjectionLease;
  /**
   * Runs each batch (its handlers and the checkpoint after it) in one transaction, e.g.
   * `(work) => app.transaction(() => work())`. With a read model and a checkpoint store that join
   * that transaction (PostgreSQL: handlers writing through `currentPostgresTransaction()`, the
   * checkpoint store on the same schema), every event takes effect exactly once, also when the
   * process dies mid-batch: a batch that fails or is cut off is rolled back whole and read again.
   * Default: none (the checkpoint is saved after each event; a crash between a handler and its
   * save applies that event again).
   */
  readonly transaction?: <T>(work: () => Promise<T>) => Promise<T>;
}

/** What one `projector.catchUp()` (or `rebuild()`) did. */
export interface CatchUpResult {
  /** Events handed to the projection's handlers in this run. */
  readonly applied: number;
  /** The checkpoint after the run. */
  readonly position: number;
}

/** An event store that can tell its last position without a scan (the memory store can). */
interface HeadAware {
  headPosition?(): Promise<number>;
}

/**
 * Runs a projection over the global stream: reads events after its checkpoint in global order,
 * applies the ones it handles and saves the checkpoint after each of them, so a projector stopped
 * at any point resumes with the next event, neither applying one twice nor skipping one. (A
 * process that crashes between a handler and its checkpoint save re-applies that one event when
 * read model and checkpoint are not in one transaction: keep handlers idempotent, or give the
 * projector a `transaction` that both join.)
 *
 * Run it once (`catchUp()`), continuously (`start()` polls, `stop()` ends after the current
 * event), or from scratch (`rebuild()`).
 */
export class Projector {
  readonly projection: Projection;
  readonly #options: ProjectorOptions;
  readonly #serializer: EventSerializer;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  /** Serialises runs: catch-ups, rebuilds and the polling loop never overlap. */
  #queue: Promise<unknown> = Promise.resolve();
  #stopRequested = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** A wake() that came while a run was reading: the loop does not sleep past it. */
  #woken = false;
  /** Whether the running loop holds its lease (always, without one). */
  #leased = true;

  constructor(projection: Projection, options: ProjectorOptions) {
    const batchSize = options.batchSize ?? 500;
    const pollIntervalMs = options.pollIntervalMs ?? 200;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new ConfigError('batchSize', batchSize, 'a positive integer');
    if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 0) {
      throw new ConfigError('pollIntervalMs', pollIntervalMs, 'a number of milliseconds >= 0');
    }
    this.projection = projection;
    this.#options = options;
    this.#batchSize = batchSize;
    this.#pollIntervalMs = pollIntervalMs;
    this.#serializer = new EventSerializer(
      options.registry,
      options.upcasters === undefined ? {} : { upcasters: options.upcasters },
    );
  }

  /** Whether `start()` is polling. */
  get running(): boolean {
    return this.#loop !== undefined;
  }

  /** The last position applied (0 before the first run). */
  checkpoint(): Promise<number> {
    return this.#options.checkpoints.load(this.projection.name);
  }

  /** How many positions the read model is behind the store (latest position − checkpoint). */
  async lag(): Promise<number> {
    const [head, checkpoint] = await Promise.all([this.#headPosition(), this.checkpoint()]);
    return Math.max(0, head - checkpoint);
  }

  /**
   * Applies every event after the checkpoint, until none is left or `stop()` is called.
   * @throws ProjectionError when a handler fails; the checkpoint stays before that event.
   */
  catchUp(): Promise<CatchUpResult> {
    return this.#exclusive(() => this.#catchUp());
  }

  /** Empties the read model (`onReset`), sets the checkpoint to 0 and replays everything. */
  rebuild(): Promise<CatchUpResult> {
    return this.#exclusive(async () => {
      await this.projection.reset();
      await this.#options.checkpoints.save(this.projection.name, 0);
      return this.#catchUp();
    });
  }

  /** Polls the store until `stop()`: catch up, wait `pollIntervalMs`, again. */
  start(): void {
    if (this.#loop !== undefined) return;
    this.#stopRequested = false;
    this.#loop = this.#run();
  }

  /**
   * Cuts the wait between polls short, so a running `start()` loop reads the store now: call it
   * when told that events were appended (a push subscription). Does nothing when not running.
   */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /**
   * Ends a running catch-up after its current event and the polling loop; resolves when both are
   * done. From inside a handler call it without awaiting (the handler's own run is what it waits for).
   */
  async stop(): Promise<void> {
    this.#stopRequested = true;
    this.#wake?.();
    const loop = this.#loop;
    if (loop !== undefined) await loop;
    await this.#queue.catch(() => undefined);
    this.#loop = undefined;
    await this.#options.lease?.release(this.projection.name);
  }

  async #run(): Promise<void> {
    const onError =
      this.#options.onError ??
      ((error: unknown) =>
        (this.#options.logger ?? consoleLogger('projections')).error('projection run failed', {
          projection: this.projection.name,
          error: error instanceof Error ? error.message : String(error),
        }));
    let failures = 0;
    while (!this.#stopRequested) {
      this.#woken = false;
      try {
        await this.#exclusive(() => this.#catchUp(true), true);
        failures = 0;
      } catch (error) {
        failures++;
        onError(error);
      }
      if (this.#stopRequested) break;
      if (this.#woken && failures === 0 && this.#leased) continue;
      // A handler that keeps failing on the same event is retried ever more slowly (up to 30 s).
      const wait =
        failures === 0
          ? this.#pollIntervalMs
          : Math.min(30_000, Math.max(this.#pollIntervalMs, 10) * 2 ** (failures - 1));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  #exclusive<T>(work: () => Promise<T>, fromLoop = false): Promise<T> {
    const run = this.#queue.then(() => {
      // A stop() aimed at an earlier run must not cancel a catch-up the caller asks for later.
      if (!fromLoop && this.#loop === undefined) this.#stopRequested = false;
      return work();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #catchUp(leased = false): Promise<CatchUpResult> {
    const { store, checkpoints, lease, transaction } = this.#options;
    const name = this.projection.name;
    const saved = await checkpoints.load(name);
    let position = saved;
    let savedPosition = saved;
    let applied = 0;
    try {
      while (!this.#stopRequested) {
        if (leased && lease !== undefined) {
          this.#leased = await lease.acquire(name);
          if (!this.#leased) break;
        }
        const batch = await store.readAll({ after: position, limit: this.#batchSize });
        if (transaction !== undefined) {
          if (batch.length === 0) break;
          // The batch and its checkpoint commit together, or neither does.
          const done = await transaction(async () => {
            let count = 0;
            let last = position;
            for (const stored of batch) {
              if (this.#stopRequested) break;
              if (await this.#applyOne(stored)) count++;
              last = stored.position;
            }
            if (last > position) await checkpoints.save(name, last);
            return { count, last };
          });
          applied += done.count;
          position = done.last;
          savedPosition = done.last;
          if (batch.length < this.#batchSize) break;
          continue;
        }
        for (const stored of batch) {
          if (this.#stopRequested) break;
          if (await this.#applyOne(stored)) {
            applied++;
            await checkpoints.save(name, stored.position);
            savedPosition = stored.position;
          }
          position = stored.position;
        }
        if (batch.length < this.#batchSize) break;
      }
    } finally {
      // Skipped events have no effect, so moving past them needs saving only once.
      if (position > savedPosition) await checkpoints.save(name, position);
    }
    return { applied, position };
  }

  async #applyOne(stored: StoredEvent): Promise<boolean> {
    let eventType = stored.type;
    try {
      const raw = this.#serializer.toRaw(stored);
      eventType = raw.type;
      if (!this.projection.handles(raw.type)) return false;
      const event = this.#serializer.deserialize(stored, raw);
      await this.projection.apply(event, { position: stored.position, streamId: stored.streamId });
      return true;
    } catch (error) {
      throw new ProjectionError(this.projection.name, stored.position, eventType, { cause: error });
    }
  }

  async #headPosition(): Promise<number> {
    const store = this.#options.store as EventStore & HeadAware;
    if (typeof store.headPosition === 'function') return store.headPosition();
    // Without a cheap head query, walk forward from the checkpoint.
    let after = await this.checkpoint();
    for (;;) {
      const batch = await store.readAll({ after, limit: 10_000 });
      if (batch.length === 0) return after;
      after = batch[batch.length - 1]!.position;
    }
  }
}

import { ConfigError } from '../errors/config-error';
import { EventHandlingError, type SubscriberFailure } from '../errors/event-handling-error';
import { UnitOfWorkError } from '../errors/unit-of-work-error';
import { DomainEvent, type MessageClass, messageTypeOf } from '../messages';
import { type Handler, type HandlerFunction, handlerName, toHandlerFunction } from './handlers';
import { type MiddlewareContext, runPipeline } from './middleware';
import { type AsyncOptions, type BusContext, sendAsync } from './shared';
import { currentUnitOfWork, runInUnitOfWork, UnitOfWork } from './unit-of-work';

/** Options of `eventBus.subscribe`. */
export interface SubscribeOptions {
  /** From `eventBus.priorityLevels` (runs first) down to 0 (default, runs last). */
  readonly priority?: number;
  /** A stable name for logs and errors; default: the handler's name. */
  readonly name?: string;
}

/** @internal One subscription. */
export interface Subscriber {
  readonly id: number;
  readonly name: string;
  readonly priority: number;
  readonly handler: unknown;
  readonly run: HandlerFunction<DomainEvent, unknown>;
}

/**
 * Publishes domain events to their subscribers: in process in priority order (`publish`),
 * through the transport (`publishAsync`), or recorded in the current unit of work and published
 * when it ends (`record`, `dispatchRecorded`).
 *
 * Failure semantics: every subscriber of an event runs, in order, even when one before it threw;
 * after all ran, the failures are thrown together as one `EventHandlingError`.
 */
export class EventBus {
  readonly #subscribers = new Map<Function, Subscriber[]>();
  readonly #resolved = new Map<Function, readonly Subscriber[]>();
  readonly #context: BusContext;
  #nextId = 1;

  /** @internal Use `createCqrs()`. */
  constructor(context: BusContext) {
    this.#context = context;
  }

  /**
   * Subscribes a handler to an event class (`DomainEvent` itself: to every event). Higher priority
   * runs first; equal priorities run in subscription order. Returns a function that unsubscribes.
   * Does nothing when handlers are disabled.
   * @throws ConfigError when the priority is not an integer from 0 to `eventBus.priorityLevels`.
   */
  subscribe<E extends DomainEvent>(
    eventClass: MessageClass<E>,
    handler: Handler<E, unknown>,
    options: SubscribeOptions = {},
  ): () => void {
    const priority = options.priority ?? 0;
    const levels = this.#context.config.eventBus.priorityLevels;
    if (!Number.isInteger(priority) || priority < 0 || priority > levels) {
      throw new ConfigError('priority', priority, `an integer from 0 to ${levels} (eventBus.priorityLevels)`);
    }
    if (eventClass !== (DomainEvent as unknown)) this.#context.registry.register(eventClass);
    if (!this.#context.config.enableHandlers) return () => {};
    const subscriber: Subscriber = {
      id: this.#nextId++,
      name: options.name ?? handlerName(handler),
      priority,
      handler,
      run: toHandlerFunction(handler) as HandlerFunction<DomainEvent, unknown>,
    };
    const list = this.#subscribers.get(eventClass) ?? [];
    list.push(subscriber);
    this.#subscribers.set(eventClass, list);
    this.#resolved.clear();
    return () => this.#remove(eventClass, (s) => s === subscriber);
  }

  /** Removes a handler from an event class (only that handler). Returns whether it was subscribed. */
  unsubscribe(eventClass: MessageClass<DomainEvent>, handler: Handler<never, unknown>): boolean {
    return this.#remove(eventClass, (s) => s.handler === handler);
  }

  #remove(eventClass: Function, match: (s: Subscriber) => boolean): boolean {
    const list = this.#subscribers.get(eventClass);
    if (list === undefined) return false;
    const index = list.findIndex(match);
    if (index < 0) return false;
    list.splice(index, 1);
    this.#resolved.clear();
    return true;
  }

  /** The subscribers an event of this class reaches, in the order they run. */
  getSubscribers(eventClass: MessageClass<DomainEvent>): ReadonlyArray<{ name: string; priority: number }> {
    return this.subscribersOf(eventClass).map(({ name, priority }) => ({ name, priority }));
  }

  /** @internal */
  subscribersOf(eventClass: Function): readonly Subscriber[] {
    let resolved = this.#resolved.get(eventClass);
    if (resolved === undefined) {
      const own = this.#subscribers.get(eventClass) ?? [];
      const all = eventClass === DomainEvent ? [] : (this.#subscribers.get(DomainEvent) ?? []);
      resolved = [...own, ...all].sort((a, b) => b.priority - a.priority || a.id - b.id);
      this.#resolved.set(eventClass, resolved);
    }
    return resolved;
  }

  /**
   * Runs every subscriber of the event, in priority order, each awaited. Inside a transaction the
   * event is recorded instead and published after commit.
   * @throws EventHandlingError listing every subscriber that failed (after all of them ran).
   */
  publish(event: DomainEvent): Promise<void> {
    const unit = currentUnitOfWork();
    if (unit?.transactional) {
      unit.assertOpen('publishing');
      unit.hold(event);
      return Promise.resolve();
    }
    const subscribers = this.subscribersOf(event.constructor);
    if (this.#context.middleware.length === 0) return this.deliver(event, subscribers);
    const context: MiddlewareContext = {
      kind: 'event',
      operation: 'publish',
      message: event,
      messageType: messageTypeOf(event),
      async: false,
    };
    return runPipeline(this.#context.middleware, context, () =>
      this.deliver(event, subscribers),
    ) as Promise<void>;
  }

  /**
   * @internal Runs the given subscribers, all of them, and throws their failures together.
   * `skip` leaves out subscribers that already handled this event (worker redeliveries).
   */
  async deliver(
    event: DomainEvent,
    subscribers: readonly Subscriber[],
    onSuccess?: (subscriber: Subscriber) => void,
    skip?: ReadonlySet<number>,
  ): Promise<void> {
    let failures: SubscriberFailure[] | undefined;
    for (const subscriber of subscribers) {
      if (skip?.has(subscriber.id)) continue;
      try {
        const result = subscriber.run(event);
        if (result instanceof Promise) await result;
        onSuccess?.(subscriber);
      } catch (error) {
        (failures ??= []).push({ eventType: messageTypeOf(event), subscriber: subscriber.name, error });
      }
    }
    if (failures !== undefined) throw new EventHandlingError(failures);
  }

  /**
   * Publishes events one after the other; a failing subscriber does not stop later events.
   * @throws EventHandlingError with every failure, after all events were published.
   */
  async publishMultiple(events: readonly DomainEvent[]): Promise<void> {
    const failures: SubscriberFailure[] = [];
    for (const event of events) {
      try {
        await this.publish(event);
      } catch (error) {
        if (error instanceof EventHandlingError) failures.push(...error.failures);
        else failures.push({ eventType: safeType(event), subscriber: '(publish)', error });
      }
    }
    if (failures.length > 0) throw new EventHandlingError(failures);
  }

  /**
   * Sends the event to the `eventBus.asyncQueue` channel (key: its aggregate id) for workers'
   * subscribers. Inside a transaction the send is held until commit. Returns the message id.
   */
  async publishAsync(event: DomainEvent, options: AsyncOptions = {}): Promise<string> {
    const send = () =>
      sendAsync(
        this.#context,
        this.#context.config.eventBus.asyncQueue,
        event,
        'event',
        options,
        event.aggregateId === '' ? undefined : event.aggregateId,
      );
    if (this.#context.middleware.length === 0) return send();
    const context: MiddlewareContext = {
      kind: 'event',
      operation: 'publishAsync',
      message: event,
      messageType: messageTypeOf(event),
      async: true,
    };
    return (await runPipeline(this.#context.middleware, context, send)) as string;
  }

  /**
   * Keeps an event in the current unit of work, to publish with `dispatchRecorded()` (or at the
   * end of the unit of work / after the transaction commits).
   * @throws UnitOfWorkError outside a unit of work (`unitOfWork()`, `dispatchTransaction`, a worker).
   */
  record(event: DomainEvent): void {
    const unit = currentUnitOfWork();
    if (unit === undefined) {
      throw new UnitOfWorkError(
        'eventBus.record() needs a unit of work: run the work inside app.unitOfWork(() => ...) or a transaction',
      );
    }
    unit.assertOpen('recording');
    unit.record(event);
  }

  /**
   * The events recorded (`record()`) in the current unit of work and not yet published. Events
   * `publish()`ed inside a transaction are held until commit too, but are not listed here.
   */
  recorded(): readonly DomainEvent[] {
    return currentUnitOfWork()?.recordedEvents() ?? [];
  }

  /**
   * Publishes the recorded events of the current unit of work and forgets them. Every event is
   * published even when subscribers of an earlier one fail. Inside a transaction they are
   * published after commit instead.
   * @throws EventHandlingError with every failure.
   */
  async dispatchRecorded(): Promise<void> {
    const unit = currentUnitOfWork();
    if (unit === undefined || unit.transactional) return;
    await this.publishMultiple(unit.takeRecorded());
  }

  /**
   * Forgets the recorded events of the current unit of work; returns how many there were. Events
   * `publish()`ed inside a transaction are not recorded events: they still leave after commit.
   */
  clearRecorded(): number {
    return currentUnitOfWork()?.takeRecorded().length ?? 0;
  }

  /**
   * Runs `work` in a new unit of work (not a database transaction). Events recorded and not
   * dispatched are published when `work` resolves, and dropped when it rejects. The work is done
   * by then: a subscriber failing on those events is logged and counted (see
   * `Cqrs.afterCommitStats()`), not thrown at the caller.
   */
  async unitOfWork<T>(work: () => Promise<T>): Promise<T> {
    const unit = new UnitOfWork(false);
    let result: T;
    try {
      result = await runInUnitOfWork(unit, work);
    } catch (error) {
      unit.settle('discarded');
      throw error;
    }
    const { events } = unit.settle('committed');
    if (events.length > 0) await this.#context.afterCommit.publish(events, (e) => this.publishMultiple(e));
    return result;
  }
}

function safeType(event: DomainEvent): string {
  try {
    return messageTypeOf(event);
  } catch {
    return event.constructor.name;
  }
}

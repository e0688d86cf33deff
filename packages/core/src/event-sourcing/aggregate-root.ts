import type { DomainEvent, MessageClass } from '../messages';
import { messageTypeOf } from '../messages';

/** Applies one event type to an aggregate's state. */
export type EventApplier<E extends DomainEvent> = (event: E) => void;

/**
 * Base of event-sourced aggregates. State changes only by events: `raise(event)` applies the
 * event through the applier registered with `on(EventClass, ...)` and queues it for the
 * repository; `loadFromHistory` replays stored events through the same appliers, so state after a
 * replay is the state the live calls produced.
 *
 * Declare `static override readonly aggregateType = 'exchange.Order'` (a stable name, like `messageType`).
 * For snapshots implement `snapshot()` (JSON-compatible state; dates and bigints are fine) and
 * `restore(state)`, and bump `static readonly snapshotSchemaVersion` when that shape changes.
 *
 * ```ts
 * class Account extends AggregateRoot<{ balance: string }> {
 *   static override readonly aggregateType = 'bank.Account';
 *   balance = 0n;
 *   constructor(id: string) {
 *     super(id);
 *     this.on(Deposited, (e) => { this.balance += BigInt(e.amount); });
 *   }
 *   deposit(amount: string) { this.raise(new Deposited(amount)); }
 *   snapshot() { return { balance: this.balance.toString() }; }
 *   restore(state: { balance: string }) { this.balance = BigInt(state.balance); }
 * }
 * ```
 */
export abstract class AggregateRoot<State = unknown> {
  /** Stable name of the aggregate type; events carry it and the default stream id starts with it. */
  static readonly aggregateType?: string;
  /** Shape version of `snapshot()`; snapshots of another version are ignored (full replay). */
  static readonly snapshotSchemaVersion?: number;

  readonly id: string;
  #version = 0;
  #pending: DomainEvent[] = [];
  readonly #appliers = new Map<string, EventApplier<DomainEvent>>();

  constructor(id: string) {
    this.id = id;
  }

  /** Returns the state to snapshot (JSON-compatible; dates and bigints allowed). Optional. */
  snapshot?(): State;
  /** Sets the state from `snapshot()`'s output. Implement together with `snapshot`. */
  restore?(state: State): void;

  /** Version of the last applied event, uncommitted ones included (0 for a new aggregate). */
  get version(): number {
    return this.#version;
  }

  /** Version the aggregate had when loaded or last saved: the expected version of the next save. */
  get persistedVersion(): number {
    return this.#version - this.#pending.length;
  }

  /** The class's `static aggregateType` ('' when it declares none). */
  get aggregateType(): string {
    const declared = (this.constructor as { aggregateType?: unknown }).aggregateType;
    return typeof declared === 'string' ? declared : '';
  }

  /** Events raised since load or last save, in order. */
  get uncommittedEvents(): readonly DomainEvent[] {
    return this.#pending;
  }

  /**
   * Registers how an event type changes state. Call in the constructor. An event without an
   * applier changes nothing (it is still stored and published).
   */
  protected on<E extends DomainEvent>(eventClass: MessageClass<E>, apply: EventApplier<E>): void {
    this.#appliers.set(messageTypeOf(eventClass), apply as EventApplier<DomainEvent>);
  }

  /**
   * Records that something happened: sets the event's aggregate id, type and next version, applies
   * it, and queues it for saving. Decide in the command method, before raising: an applier that
   * throws leaves the aggregate unchanged and nothing queued.
   */
  protected raise(event: DomainEvent): void {
    const next = this.#version + 1;
    event.assignIdentity({ aggregateId: this.id, aggregateType: this.aggregateType, version: next });
    this.#apply(event);
    this.#version = next;
    this.#pending.push(event);
  }

  /** Replays stored events (in version order) onto this aggregate; they are not queued again. */
  loadFromHistory(events: Iterable<DomainEvent>): void {
    for (const event of events) {
      this.#apply(event);
      this.#version = event.version > 0 ? event.version : this.#version + 1;
    }
  }

  /** @internal Used by repositories after the events were stored. */
  markCommitted(): void {
    this.#pending = [];
  }

  /** @internal Used by repositories: state from a snapshot taken at `version`. */
  restoreSnapshot(state: State, version: number): void {
    if (this.restore === undefined) return;
    this.restore(state);
    this.#version = version;
  }

  #apply(event: DomainEvent): void {
    const apply = this.#appliers.get(messageTypeOf(event));
    if (apply !== undefined) apply(event);
  }
}

/** A concrete aggregate class the repository can create by id. */
export type AggregateClass<A extends AggregateRoot> = (new (
  id: string,
) => A) & {
  readonly aggregateType?: string;
  readonly snapshotSchemaVersion?: number;
};

import { CommandValidationError, type FieldErrors } from './errors/command-validation-error';
import { UnknownMessageTypeError } from './errors/unknown-message-type-error';
import { newId } from './ids';

declare const RESULT: unique symbol;

/** Free-form message metadata (user, tenant, trace ids...). JSON-safe values only. */
export type Metadata = Record<string, unknown>;

interface MessageMeta {
  id: string | undefined;
  timestamp: number;
  metadata: Metadata;
}

let setMeta: (message: Message, meta: MessageMeta) => void;

/**
 * Base of commands, queries and events. Every concrete message class declares its stable wire name
 * as `static readonly messageType = 'exchange.PlaceOrder'` (class names change under minifiers).
 *
 * Ids, timestamps and metadata live in private fields, outside the message's own fields (so
 * `{ ...message }` and the serialised payload hold only the fields the message class declares).
 * For commands and queries they are made on first use — the id, the timestamp, the metadata, or
 * sending the message — so that creating and dispatching an in-process message costs almost
 * nothing. An event's time is taken when it is created (`occurredAt`); its id on first use.
 */
export abstract class Message {
  #meta: MessageMeta | undefined;

  static {
    setMeta = (message, meta) => {
      message.#meta = meta;
    };
  }

  #ensureMeta(): MessageMeta {
    this.#meta ??= { id: undefined, timestamp: Date.now(), metadata: {} };
    return this.#meta;
  }

  /** Unique, time-sortable id of this message (a ULID). */
  get messageId(): string {
    const meta = this.#ensureMeta();
    meta.id ??= newId(meta.timestamp);
    return meta.id;
  }

  /** When the message was created (commands and queries: first used, at the latest when sent). */
  get timestamp(): Date {
    return new Date(this.#ensureMeta().timestamp);
  }

  /** Metadata carried with the message across processes. */
  get metadata(): Metadata {
    return this.#ensureMeta().metadata;
  }

  /** Adds metadata; returns the message for chaining. */
  withMetadata(metadata: Metadata): this {
    Object.assign(this.#ensureMeta().metadata, metadata);
    return this;
  }

  /** The message's own fields (what goes on the wire as its payload). */
  toPayload(): Record<string, unknown> {
    return { ...this } as Record<string, unknown>;
  }
}

/** @internal Sets the identity of a message (rebuilt from the wire, or an event's own time). */
export function restoreMessageMeta(
  message: Message,
  id: string | undefined,
  timestamp: number,
  metadata: Metadata,
): void {
  setMeta(message, { id, timestamp, metadata });
}

/**
 * A request to change state, handled by exactly one handler. `R` is the handler's result, so
 * `commandBus.dispatch(new PlaceOrder(...))` is typed `Promise<R>` without casts.
 *
 * Validate in the constructor (throw `CommandValidationError`, see `invalid()`), or override
 * `validate()`, which the bus calls before dispatching and the registry calls when rebuilding a
 * command from the wire, or declare a Standard Schema as `static schema`.
 */
export abstract class Command<R = void> extends Message {
  declare readonly [RESULT]?: R;

  /** Same as `messageId`; the original API's name. */
  get commandId(): string {
    return this.messageId;
  }

  /** Checks the fields; throw `CommandValidationError` (see `invalid()`) when they are wrong. */
  validate?(): void;
}

/**
 * A request for data, handled by exactly one handler with no side effects. `R` is the result type.
 * Override `cacheKey`, `cacheTtl` or `cacheable` to steer `askCached`.
 */
export abstract class Query<R = unknown> extends Message {
  declare readonly [RESULT]?: R;

  get queryId(): string {
    return this.messageId;
  }

  /** Checks the fields; throw `CommandValidationError` when they are wrong. */
  validate?(): void;

  /** Own cache key (without prefix and type); by default a canonical form of the fields. */
  cacheKey?(): string;

  /** Own TTL in seconds for `askCached`, when the caller passes none. */
  cacheTtl?(): number;

  /** `false` makes `askCached` always run the handler. */
  cacheable?(): boolean;
}

/** What a command or query handler returns. */
export type ResultOf<M> = M extends Command<infer R> ? R : M extends Query<infer R> ? R : never;

/** Identity fields of a domain event, all optional at construction. */
export interface EventInit {
  eventId?: string;
  occurredAt?: Date;
  aggregateId?: string;
  aggregateType?: string;
  version?: number;
  correlationId?: string;
  causationId?: string;
  metadata?: Metadata;
}

/** @internal The identity fields of an event as they are written down (wire envelope, stored metadata). */
export interface WrittenEventIdentity {
  aggregateId: string;
  aggregateType: string;
  version: number;
  correlationId?: string;
  causationId?: string;
}

interface EventIdentity {
  aggregateId: string;
  aggregateType: string;
  version: number;
  correlationId: string | undefined;
  causationId: string | undefined;
}

let setIdentity: (event: DomainEvent, identity: EventIdentity) => void;

/**
 * Something that happened, the base of every event class. Its identity (`eventId`, `occurredAt`,
 * `aggregateId`, `aggregateType`, `version`, `correlationId`, `causationId`, `metadata`) is given to
 * `super(init)` and kept beside the payload fields that the subclass declares.
 */
export abstract class DomainEvent extends Message {
  #identity: EventIdentity;

  static {
    setIdentity = (event, identity) => {
      event.#identity = identity;
    };
  }

  constructor(init: EventInit = {}) {
    super();
    this.#identity = {
      aggregateId: init.aggregateId ?? '',
      aggregateType: init.aggregateType ?? '',
      version: init.version ?? 0,
      correlationId: init.correlationId,
      causationId: init.causationId,
    };
    // An event's time is when it happened: taken now (or given), never on first read.
    restoreMessageMeta(this, init.eventId, init.occurredAt?.getTime() ?? Date.now(), { ...init.metadata });
  }

  get eventId(): string {
    return this.messageId;
  }
  get occurredAt(): Date {
    return this.timestamp;
  }
  get aggregateId(): string {
    return this.#identity.aggregateId;
  }
  get aggregateType(): string {
    return this.#identity.aggregateType;
  }
  /** Position of the event in its aggregate's stream (1 for the first); 0 when not stored. */
  get version(): number {
    return this.#identity.version;
  }
  get correlationId(): string | undefined {
    return this.#identity.correlationId;
  }
  get causationId(): string | undefined {
    return this.#identity.causationId;
  }

  /** The wire name of this event's class. */
  get eventType(): string {
    return messageTypeOf(this);
  }

  /** @internal Sets identity fields (used by repositories and the serializer). */
  assignIdentity(identity: Partial<EventIdentity>): this {
    Object.assign(this.#identity, identity);
    return this;
  }

  /** The original's `toArray()` shape. */
  toArray(): {
    event_id: string;
    event_type: string;
    aggregate_id: string;
    aggregate_type: string;
    version: number;
    occurred_at: string;
    correlation_id: string | null;
    causation_id: string | null;
    metadata: Metadata;
    payload: Record<string, unknown>;
  } {
    return {
      event_id: this.eventId,
      event_type: this.eventType,
      aggregate_id: this.aggregateId,
      aggregate_type: this.aggregateType,
      version: this.version,
      occurred_at: this.occurredAt.toISOString(),
      correlation_id: this.correlationId ?? null,
      causation_id: this.causationId ?? null,
      metadata: this.metadata,
      payload: this.toPayload(),
    };
  }
}

/** @internal Gives an event rebuilt from the wire (its constructor never ran) its identity. */
export function restoreEventIdentity(
  event: DomainEvent,
  identity: {
    aggregateId: string;
    aggregateType: string;
    version: number;
    correlationId?: string | undefined;
    causationId?: string | undefined;
  },
): void {
  setIdentity(event, {
    aggregateId: identity.aggregateId,
    aggregateType: identity.aggregateType,
    version: identity.version,
    correlationId: identity.correlationId,
    causationId: identity.causationId,
  });
}

/** A message class: what `register`, `subscribe` and the registry take. */
export type MessageClass<M extends Message = Message> = (abstract new (
  ...args: never[]
) => M) & {
  readonly messageType?: string;
  readonly schema?: unknown;
};

/** The wire name of a message or message class; throws when the class declares none. */
export function messageTypeOf(target: Message | MessageClass): string {
  const ctor = (typeof target === 'function' ? target : target.constructor) as MessageClass;
  const name = Object.hasOwn(ctor, 'messageType') ? ctor.messageType : undefined;
  if (typeof name !== 'string' || name.length === 0) {
    throw new UnknownMessageTypeError(
      ctor.name || '(anonymous class)',
      `declare a stable wire name: static readonly messageType = '${ctor.name || 'my.Message'}'`,
    );
  }
  return name;
}

/**
 * Builds the `CommandValidationError` for a message from a list of checks; returns nothing when
 * every check passed. Use inside constructors and `validate()`:
 * `invalid(this, { amount: isPositiveDecimal(amount) ? [] : ['must be a positive decimal'] })`.
 */
export function invalid(message: Message | MessageClass, fields: FieldErrors): void {
  const failing: FieldErrors = {};
  for (const [field, reasons] of Object.entries(fields)) if (reasons.length > 0) failing[field] = reasons;
  if (Object.keys(failing).length > 0) {
    const ctor = (typeof message === 'function' ? message : message.constructor) as MessageClass;
    throw new CommandValidationError(ctor.messageType ?? ctor.name, failing);
  }
}

import { MessageDecodeError } from '../errors/message-decode-error';
import { UnknownMessageTypeError } from '../errors/unknown-message-type-error';
import { DomainEvent, type MessageClass, messageTypeOf, type WrittenEventIdentity } from '../messages';
import type { NewEvent, StoredEvent } from '../ports/event-store';
import { decodeJson, encodeJson, type MessageEnvelope, type MessageRegistry } from '../serialization';
import { type RawEvent, type Upcaster, UpcasterChain } from './upcasting';

/**
 * Metadata keys the serializer writes beside the event's own metadata, so that an event read back
 * has the identity it was stored with. They are removed again on read.
 */
export const RESERVED_METADATA_KEYS = [
  'schemaVersion',
  'aggregateId',
  'aggregateType',
  'correlationId',
  'causationId',
] as const;

const RESERVED = new Set<string>(RESERVED_METADATA_KEYS);

/** The shape version of an event class: `static readonly schemaVersion = 2` (default 1). */
export function schemaVersionOf(eventClass: MessageClass | Function): number {
  const declared = (eventClass as { schemaVersion?: unknown }).schemaVersion;
  return typeof declared === 'number' && Number.isInteger(declared) && declared > 0 ? declared : 1;
}

/** Options of `new EventSerializer(registry, options)`. */
export interface EventSerializerOptions {
  /** Turn old stored shapes into the current ones on read. */
  readonly upcasters?: UpcasterChain | readonly Upcaster[];
}

/**
 * Converts between `DomainEvent` instances and the event store's `NewEvent` / `StoredEvent`.
 * Only classes registered in the `MessageRegistry` are written or rebuilt; dates and bigints in
 * payloads survive (they are stored in `encodeJson` form).
 */
export class EventSerializer {
  readonly registry: MessageRegistry;
  readonly upcasters: UpcasterChain;

  constructor(registry: MessageRegistry, options: EventSerializerOptions = {}) {
    this.registry = registry;
    const upcasters = options.upcasters ?? [];
    this.upcasters = upcasters instanceof UpcasterChain ? upcasters : new UpcasterChain(upcasters);
  }

  /** The `NewEvent` to append for an event. Unregistered classes are an `UnknownMessageTypeError`. */
  serialize(event: DomainEvent): NewEvent {
    const type = messageTypeOf(event);
    if (!this.registry.has(type) || this.registry.classOf(type) !== event.constructor) {
      throw new UnknownMessageTypeError(
        type,
        'register the event class in the MessageRegistry before storing it',
      );
    }
    const metadata: Record<string, unknown> = {
      ...toJsonRecord(event.metadata),
      schemaVersion: schemaVersionOf(event.constructor),
      aggregateId: event.aggregateId,
      aggregateType: event.aggregateType,
    };
    if (event.correlationId !== undefined) metadata.correlationId = event.correlationId;
    if (event.causationId !== undefined) metadata.causationId = event.causationId;
    return {
      eventId: event.eventId,
      type,
      data: toJsonRecord(event.toPayload()),
      metadata,
      occurredAt: event.occurredAt.getTime(),
    };
  }

  /** A stored event in its current shape (upcasters applied), still as plain data. */
  toRaw(stored: StoredEvent): RawEvent {
    const metadata: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(stored.metadata)) if (!RESERVED.has(key)) metadata[key] = value;
    const declared = stored.metadata.schemaVersion;
    const schemaVersion = typeof declared === 'number' && Number.isInteger(declared) ? declared : 1;
    return this.upcasters.upcast({ type: stored.type, schemaVersion, data: stored.data, metadata });
  }

  /**
   * Rebuilds the event instance of a stored event: upcast, then built from its registered class
   * with its stored identity (`version` is the stream version). An unknown type is an
   * `UnknownMessageTypeError`; a shape no upcaster brought to the class's `schemaVersion` is a
   * `MessageDecodeError`.
   */
  deserialize(stored: StoredEvent, raw: RawEvent = this.toRaw(stored)): DomainEvent {
    const cls = this.registry.classOf(raw.type);
    const expected = schemaVersionOf(cls);
    if (raw.schemaVersion !== expected) {
      throw new MessageDecodeError(
        `${raw.type} stored with schemaVersion ${raw.schemaVersion}, class expects ${expected} (add an upcaster)`,
      );
    }
    const identity: WrittenEventIdentity = {
      aggregateId: stringOr(stored.metadata.aggregateId, stored.streamId),
      aggregateType: stringOr(stored.metadata.aggregateType, ''),
      version: stored.version,
    };
    if (typeof stored.metadata.correlationId === 'string')
      identity.correlationId = stored.metadata.correlationId;
    if (typeof stored.metadata.causationId === 'string') identity.causationId = stored.metadata.causationId;
    const envelope: MessageEnvelope = {
      v: 1,
      id: stored.eventId,
      type: raw.type,
      kind: 'event',
      timestamp: stored.occurredAt,
      metadata: fromJsonRecord(raw.metadata),
      payload: fromJsonRecord(raw.data),
      event: identity,
    };
    const message = this.registry.fromEnvelope(envelope);
    if (!(message instanceof DomainEvent)) {
      throw new MessageDecodeError(`${raw.type} is registered but is not a DomainEvent`);
    }
    return message;
  }
}

/** A JSON-compatible copy (dates and bigints in `encodeJson` form). */
export function toJsonRecord(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return JSON.parse(encodeJson(value)) as Record<string, unknown>;
}

/** Revives dates and bigints of a `toJsonRecord` value, and rejects forbidden keys. */
export function fromJsonRecord(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const decoded = decodeJson(JSON.stringify(value));
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw new MessageDecodeError('stored event data is not an object');
  }
  return decoded as Record<string, unknown>;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

import { MessageDecodeError } from './errors/message-decode-error';
import { UnknownMessageTypeError } from './errors/unknown-message-type-error';
import {
  DomainEvent,
  Message,
  type MessageClass,
  messageTypeOf,
  restoreEventIdentity,
  restoreMessageMeta,
  type WrittenEventIdentity,
} from './messages';
import { validateMessage } from './validation';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * JSON that keeps what plain JSON loses: `Date` becomes `{"$date": iso}` and `bigint`
 * `{"$bigint": "123"}`, and both come back as themselves. Decimal amounts are strings and stay so.
 */
export function encodeJson(value: unknown): string {
  return JSON.stringify(
    value,
    function replacer(this: Record<string, unknown>, key: string, current: unknown) {
      const original = this[key];
      if (original instanceof Date) return { $date: original.toISOString() };
      if (typeof current === 'bigint') return { $bigint: current.toString() };
      return current;
    },
  );
}

/** Parses `encodeJson` output. Rejects `__proto__`, `constructor` and `prototype` keys. */
export function decodeJson(text: string): unknown {
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) throw new MessageDecodeError(`forbidden key ${JSON.stringify(key)}`);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const record = value as Record<string, unknown>;
        const keys = Object.keys(record);
        if (keys.length === 1) {
          if (typeof record.$date === 'string') {
            const date = new Date(record.$date);
            if (Number.isNaN(date.getTime())) throw new MessageDecodeError(`invalid date ${record.$date}`);
            return date;
          }
          if (typeof record.$bigint === 'string') return BigInt(record.$bigint);
        }
      }
      return value;
    });
  } catch (error) {
    if (error instanceof MessageDecodeError) throw error;
    throw new MessageDecodeError(`not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

/** Checks a decoded value for forbidden keys at any depth (for payloads that did not come through decodeJson). */
export function assertSafeObject(value: unknown, path = 'payload'): void {
  if (typeof value !== 'object' || value === null) return;
  if (value instanceof Date) return;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key))
      throw new MessageDecodeError(`forbidden key ${JSON.stringify(key)} at ${path}`);
    assertSafeObject((value as Record<string, unknown>)[key], `${path}.${key}`);
  }
}

/** What a message looks like on the wire, inside a transport message's body. */
export interface MessageEnvelope {
  /** Envelope format version. */
  readonly v: 1;
  readonly id: string;
  readonly type: string;
  readonly kind: 'command' | 'query' | 'event';
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly metadata: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  /** Event identity, for events only. */
  readonly event?: {
    readonly aggregateId: string;
    readonly aggregateType: string;
    readonly version: number;
    readonly correlationId?: string;
    readonly causationId?: string;
  };
}

/**
 * The message classes a process can rebuild from the wire, by their stable wire names. Only
 * registered classes are ever built; anything else is an `UnknownMessageTypeError`.
 */
export class MessageRegistry {
  readonly #byName = new Map<string, MessageClass>();

  /** Registers classes under their `static messageType`. Registering the same class twice is fine. */
  register(...classes: MessageClass[]): this {
    for (const cls of classes) {
      const name = messageTypeOf(cls);
      const existing = this.#byName.get(name);
      if (existing !== undefined && existing !== cls) {
        throw new UnknownMessageTypeError(
          name,
          `two classes claim this wire name: ${existing.name} and ${cls.name}`,
        );
      }
      this.#byName.set(name, cls);
    }
    return this;
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The class registered under a wire name. */
  classOf(name: string): MessageClass {
    const cls = this.#byName.get(name);
    if (cls === undefined) throw new UnknownMessageTypeError(name, 'not registered in this process');
    return cls;
  }

  /** Registered wire names. */
  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** The envelope of a message (its class must be registered). */
  toEnvelope(message: Message, kind: MessageEnvelope['kind']): MessageEnvelope {
    const type = messageTypeOf(message);
    if (this.#byName.get(type) !== message.constructor) this.register(message.constructor as MessageClass);
    const base = {
      v: 1 as const,
      id: message.messageId,
      type,
      kind,
      timestamp: message.timestamp.getTime(),
      metadata: message.metadata,
      payload: message.toPayload(),
    };
    if (message instanceof DomainEvent) {
      const event: WrittenEventIdentity = {
        aggregateId: message.aggregateId,
        aggregateType: message.aggregateType,
        version: message.version,
      };
      if (message.correlationId !== undefined) event.correlationId = message.correlationId;
      if (message.causationId !== undefined) event.causationId = message.causationId;
      return { ...base, event };
    }
    return base;
  }

  /**
   * Rebuilds a message from an envelope: a registered class only, its fields checked for forbidden
   * keys, then the message's own validation. The constructor is not called (its parameters are not
   * known), so put checks that must also hold for received messages in `validate()` or a schema.
   */
  fromEnvelope(envelope: unknown): Message {
    const env = parseEnvelope(envelope);
    const cls = this.classOf(env.type);
    assertSafeObject(env.payload);
    // Runs only our base constructor (which sets up the private identity fields) with the
    // registered class's prototype; the subclass constructor is not called (its parameters are unknown).
    const base = cls.prototype instanceof DomainEvent ? DomainEvent : Message;
    const message = Reflect.construct(base, [], cls) as Message;
    Object.assign(message, env.payload);
    restoreMessageMeta(message, env.id, env.timestamp, { ...env.metadata });
    if (message instanceof DomainEvent) {
      restoreEventIdentity(message, env.event ?? { aggregateId: '', aggregateType: '', version: 0 });
    }
    const validated = validateMessage(message, env.type);
    if (validated instanceof Promise) {
      throw new MessageDecodeError(`${env.type} has an asynchronous schema; use fromEnvelopeAsync`);
    }
    return message;
  }

  /** Serialises a message to the text that transports carry. */
  encode(message: Message, kind: MessageEnvelope['kind']): string {
    return encodeJson(this.toEnvelope(message, kind));
  }

  /** Parses and rebuilds a message from transport text. */
  decode(text: string): Message {
    return this.fromEnvelope(decodeJson(text));
  }
}

function parseEnvelope(value: unknown): MessageEnvelope {
  if (typeof value !== 'object' || value === null) throw new MessageDecodeError('envelope is not an object');
  const env = value as Record<string, unknown>;
  const problems: string[] = [];
  if (env.v !== 1) problems.push('v must be 1');
  if (typeof env.id !== 'string' || env.id === '') problems.push('id must be a non-empty string');
  if (typeof env.type !== 'string' || env.type === '') problems.push('type must be a non-empty string');
  if (env.kind !== 'command' && env.kind !== 'query' && env.kind !== 'event')
    problems.push('kind must be command, query or event');
  if (typeof env.timestamp !== 'number' || !Number.isFinite(env.timestamp))
    problems.push('timestamp must be a number');
  if (typeof env.payload !== 'object' || env.payload === null || Array.isArray(env.payload))
    problems.push('payload must be an object');
  if (env.metadata !== undefined && (typeof env.metadata !== 'object' || env.metadata === null))
    problems.push('metadata must be an object');
  if (problems.length > 0) throw new MessageDecodeError(`invalid envelope: ${problems.join('; ')}`);
  return {
    ...(env as unknown as MessageEnvelope),
    metadata: (env.metadata as Record<string, unknown>) ?? {},
  };
}

import { ConfigError } from '../errors/config-error';
import { MessageDecodeError } from '../errors/message-decode-error';

/**
 * A stored event before it becomes a class instance: the shape upcasters read and return.
 * `metadata` is the event's own metadata, without the identity keys the serializer adds.
 */
export interface RawEvent {
  readonly type: string;
  /** Shape version of `data`; events stored without one are version 1. */
  readonly schemaVersion: number;
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/**
 * Turns one old shape of a stored event into the next one on read, so the event classes only
 * know their current shape and the history is never rewritten.
 */
export interface Upcaster {
  /** Wire type it reads. */
  readonly type: string;
  /** Schema version it reads. */
  readonly fromSchemaVersion: number;
  /**
   * The next shape: a higher `schemaVersion`, another `type` (a renamed event), or both. Upcasters
   * chain: the result is upcast again while an upcaster matches it.
   */
  upcast(event: RawEvent): RawEvent;
}

/** Shorthand for an `Upcaster` that moves `type` from `fromSchemaVersion` to `fromSchemaVersion + 1`. */
export function upcaster(
  type: string,
  fromSchemaVersion: number,
  upcastData: (data: Readonly<Record<string, unknown>>, event: RawEvent) => Record<string, unknown>,
): Upcaster {
  return {
    type,
    fromSchemaVersion,
    upcast: (event) => ({
      ...event,
      schemaVersion: fromSchemaVersion + 1,
      data: upcastData(event.data, event),
    }),
  };
}

/** Shorthand for an `Upcaster` that renames a wire type (keeping data; optionally a new schema version). */
export function renameEvent(
  fromType: string,
  toType: string,
  options: { fromSchemaVersion?: number; toSchemaVersion?: number } = {},
): Upcaster {
  const fromSchemaVersion = options.fromSchemaVersion ?? 1;
  return {
    type: fromType,
    fromSchemaVersion,
    upcast: (event) => ({
      ...event,
      type: toType,
      schemaVersion: options.toSchemaVersion ?? event.schemaVersion,
    }),
  };
}

const MAX_STEPS = 1000;

/** The upcasters of a process, looked up by (type, schema version). */
export class UpcasterChain {
  readonly #byKey = new Map<string, Upcaster>();

  constructor(upcasters: readonly Upcaster[] = []) {
    this.register(...upcasters);
  }

  /** Adds upcasters. Two for the same type and version would make the result depend on order: rejected. */
  register(...upcasters: Upcaster[]): this {
    for (const candidate of upcasters) {
      const key = keyOf(candidate.type, candidate.fromSchemaVersion);
      if (this.#byKey.has(key)) {
        throw new ConfigError(
          `upcaster ${candidate.type}@${candidate.fromSchemaVersion}`,
          'registered twice',
          'one upcaster per event type and schema version',
        );
      }
      this.#byKey.set(key, candidate);
    }
    return this;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Applies matching upcasters until none matches. */
  upcast(event: RawEvent): RawEvent {
    if (this.#byKey.size === 0) return event;
    let current = event;
    const seen = new Set<string>();
    for (let step = 0; step < MAX_STEPS; step++) {
      const key = keyOf(current.type, current.schemaVersion);
      const next = this.#byKey.get(key);
      if (next === undefined) return current;
      if (seen.has(key)) break;
      seen.add(key);
      current = next.upcast(current);
    }
    throw new MessageDecodeError(`upcasters for ${event.type}@${event.schemaVersion} go round in a loop`);
  }
}

function keyOf(type: string, schemaVersion: number): string {
  return `${schemaVersion}\u0000${type}`;
}

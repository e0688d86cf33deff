import {
  type AppendResult,
  type CheckpointStore,
  ConcurrencyError,
  DuplicateEventError,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type Snapshot,
  type StoredEvent,
} from '@finaegis/core';

const PREFIX = '[@finaegis/memory]';

/**
 * The in-process event store, the reference implementation of the `EventStore` port: streams,
 * one global order, snapshots. Appends are atomic (every check runs before the first write, with
 * no await in between), so of N concurrent appends expecting the same version exactly one wins.
 *
 * Data, metadata and snapshot state are stored as JSON copies and handed out frozen, so what
 * a test sees is what a database-backed store would give back (a `Date` in `data` comes back
 * as a string unless it went through `encodeJson`, as the repository does).
 */
export class MemoryEventStore implements EventStore {
  readonly name = 'memory';
  readonly #streams = new Map<string, StoredEvent[]>();
  readonly #eventIds = new Map<string, Set<string>>();
  readonly #all: StoredEvent[] = [];
  readonly #snapshots = new Map<string, Snapshot>();

  async append(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: ExpectedVersion },
  ): Promise<AppendResult> {
    checkStreamId(streamId);
    if (!Array.isArray(events)) throw new TypeError(`${PREFIX} events must be an array`);
    const expected = options?.expectedVersion;
    const stream = this.#streams.get(streamId);
    const current = stream?.length ?? 0;
    checkExpected(streamId, expected, current);

    const ids = this.#eventIds.get(streamId);
    const batchIds = new Set<string>();
    const prepared: StoredEvent[] = [];
    let position = this.#all.length;
    let version = current;
    for (const [index, event] of events.entries()) {
      checkNewEvent(event, index);
      if (ids?.has(event.eventId) === true || batchIds.has(event.eventId)) {
        throw new DuplicateEventError(streamId, event.eventId);
      }
      batchIds.add(event.eventId);
      prepared.push(
        deepFreeze({
          streamId,
          version: ++version,
          position: ++position,
          eventId: event.eventId,
          type: event.type,
          data: jsonCopy(event.data, `events[${index}].data`),
          metadata: jsonCopy(event.metadata, `events[${index}].metadata`),
          occurredAt: event.occurredAt,
        }),
      );
    }
    if (prepared.length === 0) return { version: current, position: this.#lastPositionOf(stream) };

    // From here on nothing can throw: the append is all or nothing.
    let target = stream;
    if (target === undefined) {
      target = [];
      this.#streams.set(streamId, target);
    }
    let targetIds = ids;
    if (targetIds === undefined) {
      targetIds = new Set();
      this.#eventIds.set(streamId, targetIds);
    }
    for (const stored of prepared) {
      target.push(stored);
      targetIds.add(stored.eventId);
      this.#all.push(stored);
    }
    return { version, position };
  }

  async readStream(
    streamId: string,
    options: { fromVersion?: number; limit?: number } = {},
  ): Promise<StoredEvent[]> {
    checkStreamId(streamId);
    const from = checkCount(options.fromVersion ?? 1, 'fromVersion', 1);
    const limit = checkLimit(options.limit);
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return [];
    return stream.slice(from - 1, limit === undefined ? undefined : from - 1 + limit);
  }

  async readAll(options: { after?: number; limit?: number } = {}): Promise<StoredEvent[]> {
    // Positions are 1, 2, 3... here, so position p sits at index p - 1.
    const after = checkCount(options.after ?? 0, 'after', 0);
    const limit = checkLimit(options.limit);
    return this.#all.slice(after, limit === undefined ? undefined : after + limit);
  }

  async streamVersion(streamId: string): Promise<number> {
    checkStreamId(streamId);
    return this.#streams.get(streamId)?.length ?? 0;
  }

  /** The position of the last event in the store (0 when empty); projectors use it for lag. */
  async headPosition(): Promise<number> {
    return this.#all.length;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    checkStreamId(snapshot?.streamId);
    checkCount(snapshot.version, 'snapshot.version', 0);
    const copy: { -readonly [K in keyof Snapshot]: Snapshot[K] } = {
      streamId: snapshot.streamId,
      version: snapshot.version,
      state: snapshot.state === undefined ? undefined : jsonCopy(snapshot.state, 'snapshot.state'),
    };
    if (snapshot.schemaVersion !== undefined) copy.schemaVersion = snapshot.schemaVersion;
    this.#snapshots.set(snapshot.streamId, deepFreeze(copy));
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    checkStreamId(streamId);
    return this.#snapshots.get(streamId);
  }

  /** Nothing to release; the data stays readable. */
  async close(): Promise<void> {}

  #lastPositionOf(stream: StoredEvent[] | undefined): number {
    return stream === undefined || stream.length === 0 ? 0 : stream[stream.length - 1]!.position;
  }
}

/** Projection checkpoints in a Map. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #positions = new Map<string, number>();

  async load(projection: string): Promise<number> {
    return this.#positions.get(projection) ?? 0;
  }

  async save(projection: string, position: number): Promise<void> {
    if (typeof projection !== 'string' || projection === '') {
      throw new TypeError(`${PREFIX} projection must be a non-empty string`);
    }
    checkCount(position, 'position', 0);
    this.#positions.set(projection, position);
  }
}

export function createMemoryEventStore(): MemoryEventStore {
  return new MemoryEventStore();
}

export function createMemoryCheckpointStore(): MemoryCheckpointStore {
  return new MemoryCheckpointStore();
}

function checkStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId === '') {
    throw new TypeError(`${PREFIX} streamId must be a non-empty string, got ${JSON.stringify(streamId)}`);
  }
}

function checkExpected(streamId: string, expected: unknown, current: number): void {
  switch (expected) {
    case 'any':
      return;
    case 'no_stream':
      if (current !== 0) throw new ConcurrencyError(streamId, 0, current);
      return;
    case 'exists':
      // `ConcurrencyError` carries a number; 1 reads as "at least one event".
      if (current === 0) throw new ConcurrencyError(streamId, 1, 0);
      return;
    default:
      if (typeof expected !== 'number' || !Number.isInteger(expected) || expected < 0) {
        throw new RangeError(
          `${PREFIX} expectedVersion must be an integer >= 0, 'any', 'no_stream' or 'exists', got ${String(expected)}`,
        );
      }
      if (expected !== current) throw new ConcurrencyError(streamId, expected, current);
  }
}

function checkNewEvent(event: NewEvent, index: number): void {
  const problems: string[] = [];
  if (typeof event !== 'object' || event === null) {
    throw new TypeError(`${PREFIX} events[${index}] must be an object`);
  }
  if (typeof event.eventId !== 'string' || event.eventId === '')
    problems.push('eventId must be a non-empty string');
  if (typeof event.type !== 'string' || event.type === '') problems.push('type must be a non-empty string');
  if (!isRecord(event.data)) problems.push('data must be an object');
  if (!isRecord(event.metadata)) problems.push('metadata must be an object');
  if (typeof event.occurredAt !== 'number' || !Number.isFinite(event.occurredAt)) {
    problems.push('occurredAt must be a number (ms since the epoch)');
  }
  if (problems.length > 0) throw new TypeError(`${PREFIX} events[${index}]: ${problems.join('; ')}`);
}

function checkCount(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${PREFIX} ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function checkLimit(limit: unknown): number | undefined {
  if (limit === undefined) return undefined;
  return checkCount(limit, 'limit', 0);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonCopy<T>(value: T, what: string): T {
  try {
    return JSON.parse(JSON.stringify(value)) as T;
  } catch (error) {
    throw new TypeError(`${PREFIX} ${what} is not JSON-compatible (${(error as Error).message})`, {
      cause: error,
    });
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

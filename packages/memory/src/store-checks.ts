import {
  ConcurrencyError,
  DuplicateEventError,
  type ExpectedVersion,
  InvalidArgumentError,
  type NewEvent,
} from '@finaegis/core';

/* Argument checks and copies shared by the memory event store and checkpoint store. */

const ADAPTER = '@finaegis/memory';

/** @internal Puts back the entry a staged write replaced (or removes it when there was none). */
export function restoreEntry<V>(map: Map<string, V>, key: string, replaced: V | undefined): void {
  if (replaced === undefined) map.delete(key);
  else map.set(key, replaced);
}

/** @internal */
export function checkStreamId(streamId: unknown, argument = 'streamId'): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId === '') {
    throw new InvalidArgumentError(
      ADAPTER,
      argument,
      `must be a non-empty string, got ${JSON.stringify(streamId)}`,
    );
  }
}

/** @internal */
export function checkProjection(projection: unknown): asserts projection is string {
  if (typeof projection !== 'string' || projection === '') {
    throw new InvalidArgumentError(
      ADAPTER,
      'projection',
      `must be a non-empty string, got ${JSON.stringify(projection)}`,
    );
  }
}

/** @internal */
export function checkExpectedVersion(expected: unknown): asserts expected is ExpectedVersion {
  if (expected === 'any' || expected === 'no_stream' || expected === 'exists') return;
  if (typeof expected !== 'number' || !Number.isInteger(expected) || expected < 0) {
    throw new InvalidArgumentError(
      ADAPTER,
      'expectedVersion',
      `must be an integer >= 0, 'any', 'no_stream' or 'exists', got ${String(expected)}`,
    );
  }
}

/** @internal `expected` has passed `checkExpectedVersion`. */
export function checkExpected(streamId: string, expected: ExpectedVersion, current: number): void {
  switch (expected) {
    case 'any':
      return;
    case 'no_stream':
      if (current !== 0) throw new ConcurrencyError(streamId, 0, current, { adapter: ADAPTER });
      return;
    case 'exists':
      // `ConcurrencyError` carries a number; 1 reads as "at least one event".
      if (current === 0) throw new ConcurrencyError(streamId, 1, 0, { adapter: ADAPTER });
      return;
    default:
      if (expected !== current) throw new ConcurrencyError(streamId, expected, current, { adapter: ADAPTER });
  }
}

/** @internal */
export function checkDuplicates(
  streamId: string,
  events: readonly NewEvent[],
  committedIds: ReadonlySet<string> | undefined,
): void {
  const batchIds = new Set<string>();
  for (const event of events) {
    if (committedIds?.has(event.eventId) === true || batchIds.has(event.eventId)) {
      throw new DuplicateEventError(streamId, event.eventId, { adapter: ADAPTER });
    }
    batchIds.add(event.eventId);
  }
}

/** @internal Checks one event and returns a frozen JSON copy of it. */
export function copyNewEvent(event: NewEvent, index: number): NewEvent {
  const argument = `events[${index}]`;
  if (typeof event !== 'object' || event === null) {
    throw new InvalidArgumentError(ADAPTER, argument, 'must be an object');
  }
  const problems: string[] = [];
  if (typeof event.eventId !== 'string' || event.eventId === '')
    problems.push('eventId must be a non-empty string');
  if (typeof event.type !== 'string' || event.type === '') problems.push('type must be a non-empty string');
  if (!isRecord(event.data)) problems.push('data must be an object');
  if (!isRecord(event.metadata)) problems.push('metadata must be an object');
  if (typeof event.occurredAt !== 'number' || !Number.isFinite(event.occurredAt)) {
    problems.push('occurredAt must be a number (ms since the epoch)');
  }
  if (problems.length > 0) throw new InvalidArgumentError(ADAPTER, argument, problems.join('; '));
  return Object.freeze({
    eventId: event.eventId,
    type: event.type,
    data: deepFreeze(jsonCopy(event.data, `${argument}.data`)),
    metadata: deepFreeze(jsonCopy(event.metadata, `${argument}.metadata`)),
    occurredAt: event.occurredAt,
  });
}

/** @internal */
export function checkCount(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(ADAPTER, name, `must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** @internal */
export function checkLimit(limit: unknown): number | undefined {
  if (limit === undefined) return undefined;
  return checkCount(limit, 'limit', 0);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** @internal */
export function jsonCopy<T>(value: T, argument: string): T {
  try {
    return JSON.parse(JSON.stringify(value)) as T;
  } catch (error) {
    throw new InvalidArgumentError(
      ADAPTER,
      argument,
      `is not JSON-compatible (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/** @internal */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

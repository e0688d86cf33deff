import {
  ConcurrencyError,
  DuplicateEventError,
  decodeJson,
  type EventStore,
  encodeJson,
  type NewEvent,
  newId,
  type StoredEvent,
} from '@finaegis/core';
import { rejectionOf } from './registration';

/** The assertions the event store contract uses; vitest's `expect` (or jest's) fits. */
export interface EventStoreContractAssertion {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toBeInstanceOf(expected: Function): void;
  toBeUndefined(): void;
  toHaveLength(length: number): void;
  toBeGreaterThan(expected: number): void;
}

/** The test runner: pass vitest's `{ describe, test, expect }`. */
export interface EventStoreContractRunner {
  describe(name: string, body: () => void): void;
  test(name: string, body: () => Promise<void>): void;
  expect(actual: unknown): EventStoreContractAssertion;
}

export interface EventStoreContractHarness {
  /** Shown in the suite's name. */
  readonly name: string;
  /** A fresh, ready store; the suite closes it after each test. */
  create(): Promise<EventStore>;
}

/** Parts of the suite that can run on their own. */
export type EventStoreContractGroup =
  | 'append-and-read'
  | 'expected-version'
  | 'concurrency'
  | 'read-all'
  | 'snapshots'
  | 'isolation'
  | 'payloads';

export const EVENT_STORE_CONTRACT_GROUPS: readonly EventStoreContractGroup[] = [
  'append-and-read',
  'expected-version',
  'concurrency',
  'read-all',
  'snapshots',
  'isolation',
  'payloads',
];

export interface EventStoreContractOptions {
  /** Groups to run (default all). */
  readonly groups?: readonly EventStoreContractGroup[];
  /** Writers racing in the concurrency tests (default 10; a stress run may raise it). */
  readonly concurrentWriters?: number;
}

/**
 * The behaviour every `EventStore` adapter owes, as tests. Every test gets a fresh store from
 * `harness.create()` (closed afterwards) and its own stream ids, so a harness may share one
 * database between tests.
 *
 * ```ts
 * import { describe, expect, test } from 'vitest';
 * eventStoreContract({ describe, test, expect }, { name: 'memory', create: async () => new MemoryEventStore() });
 * ```
 */
export function eventStoreContract(
  runner: EventStoreContractRunner,
  harness: EventStoreContractHarness,
  options: EventStoreContractOptions = {},
): void {
  const groups = new Set(options.groups ?? EVENT_STORE_CONTRACT_GROUPS);
  const writers = options.concurrentWriters ?? 10;
  const { describe, test, expect } = runner;

  const withStore = (body: (store: EventStore) => Promise<void>) => async () => {
    const store = await harness.create();
    try {
      await body(store);
    } finally {
      await store.close();
    }
  };

  describe(`EventStore contract: ${harness.name}`, () => {
    if (groups.has('append-and-read')) {
      describe('append and read', () => {
        test(
          'appends events and reads them back in version order, unchanged',
          withStore(async (store) => {
            const stream = streamId('append');
            const events = [
              newEvent('test.Opened', { owner: 'ada', limit: '100.00' }, { user: 'u1' }),
              newEvent('test.Deposited', { amount: '25.50' }),
              newEvent('test.Withdrawn', { amount: '0.01', tags: ['a', 'b'], ok: true, none: null }),
            ];
            const result = await store.append(stream, events, { expectedVersion: 'no_stream' });
            expect(result.version).toBe(3);
            const read = await store.readStream(stream);
            expect(read).toHaveLength(3);
            read.forEach((stored, index) => {
              const written = events[index]!;
              expect(stored.streamId).toBe(stream);
              expect(stored.version).toBe(index + 1);
              expect(stored.eventId).toBe(written.eventId);
              expect(stored.type).toBe(written.type);
              expect(stored.data).toEqual(written.data);
              expect(stored.metadata).toEqual(written.metadata);
              expect(stored.occurredAt).toBe(written.occurredAt);
            });
            expectIncreasing(
              expect,
              read.map((stored) => stored.position),
            );
            expect(result.position).toBe(read[2]!.position);
            expect(await store.streamVersion(stream)).toBe(3);
          }),
        );

        test(
          'an unknown stream reads as empty, at version 0',
          withStore(async (store) => {
            const stream = streamId('missing');
            expect(await store.readStream(stream)).toEqual([]);
            expect(await store.streamVersion(stream)).toBe(0);
          }),
        );

        test(
          'later appends continue the versions without gaps',
          withStore(async (store) => {
            const stream = streamId('continue');
            await store.append(stream, [newEvent('test.A'), newEvent('test.B')], { expectedVersion: 0 });
            const result = await store.append(
              stream,
              [newEvent('test.C'), newEvent('test.D'), newEvent('test.E')],
              {
                expectedVersion: 2,
              },
            );
            expect(result.version).toBe(5);
            const read = await store.readStream(stream);
            expect(read.map((stored) => stored.version)).toEqual([1, 2, 3, 4, 5]);
            expect(read.map((stored) => stored.type)).toEqual([
              'test.A',
              'test.B',
              'test.C',
              'test.D',
              'test.E',
            ]);
          }),
        );

        test(
          'readStream honours fromVersion and limit',
          withStore(async (store) => {
            const stream = streamId('range');
            await store.append(
              stream,
              [1, 2, 3, 4, 5].map((n) => newEvent('test.N', { n })),
              {
                expectedVersion: 0,
              },
            );
            const middle = await store.readStream(stream, { fromVersion: 2, limit: 2 });
            expect(middle.map((stored) => stored.data.n)).toEqual([2, 3]);
            const tail = await store.readStream(stream, { fromVersion: 4 });
            expect(tail.map((stored) => stored.version)).toEqual([4, 5]);
            expect(await store.readStream(stream, { fromVersion: 6 })).toEqual([]);
          }),
        );

        test(
          'appending no events only checks the expected version',
          withStore(async (store) => {
            const stream = streamId('empty-append');
            expect((await store.append(stream, [], { expectedVersion: 0 })).version).toBe(0);
            await store.append(stream, [newEvent('test.A'), newEvent('test.B')], { expectedVersion: 0 });
            expect((await store.append(stream, [], { expectedVersion: 2 })).version).toBe(2);
            const error = await rejectionOf(store.append(stream, [], { expectedVersion: 1 }));
            expect(error).toBeInstanceOf(ConcurrencyError);
            expect(await store.streamVersion(stream)).toBe(2);
          }),
        );

        test(
          'an event id already in the stream is rejected and nothing of the batch is written',
          withStore(async (store) => {
            const stream = streamId('duplicate');
            const first = newEvent('test.A');
            await store.append(stream, [first], { expectedVersion: 0 });
            const error = await rejectionOf(
              store.append(stream, [newEvent('test.B'), { ...first, type: 'test.Again' }], {
                expectedVersion: 1,
              }),
            );
            expect(error).toBeInstanceOf(DuplicateEventError);
            const twice = newEvent('test.C');
            expect(
              await rejectionOf(store.append(stream, [twice, twice], { expectedVersion: 1 })),
            ).toBeInstanceOf(DuplicateEventError);
            const read = await store.readStream(stream);
            expect(read.map((stored) => stored.eventId)).toEqual([first.eventId]);
          }),
        );
      });
    }

    if (groups.has('expected-version')) {
      describe('expected version', () => {
        test(
          'a wrong expected version throws ConcurrencyError and writes nothing',
          withStore(async (store) => {
            const stream = streamId('conflict');
            await store.append(stream, [newEvent('test.A'), newEvent('test.B')], { expectedVersion: 0 });
            for (const expectedVersion of [0, 1, 3]) {
              const error = await rejectionOf(
                store.append(stream, [newEvent('test.X'), newEvent('test.Y')], { expectedVersion }),
              );
              expect(error).toBeInstanceOf(ConcurrencyError);
              expect((error as ConcurrencyError).streamId).toBe(stream);
              expect((error as ConcurrencyError).expectedVersion).toBe(expectedVersion);
            }
            const read = await store.readStream(stream);
            expect(read.map((stored) => stored.type)).toEqual(['test.A', 'test.B']);
          }),
        );

        test(
          'a version number on a stream that does not exist fails',
          withStore(async (store) => {
            const stream = streamId('absent');
            expect(
              await rejectionOf(store.append(stream, [newEvent('test.A')], { expectedVersion: 1 })),
            ).toBeInstanceOf(ConcurrencyError);
            expect(await store.streamVersion(stream)).toBe(0);
          }),
        );

        test(
          "'no_stream' accepts a new stream only",
          withStore(async (store) => {
            const stream = streamId('no-stream');
            expect(
              (await store.append(stream, [newEvent('test.A')], { expectedVersion: 'no_stream' })).version,
            ).toBe(1);
            const error = await rejectionOf(
              store.append(stream, [newEvent('test.B')], { expectedVersion: 'no_stream' }),
            );
            expect(error).toBeInstanceOf(ConcurrencyError);
            expect(await store.streamVersion(stream)).toBe(1);
          }),
        );

        test(
          "'exists' accepts a stream with events only",
          withStore(async (store) => {
            const stream = streamId('exists');
            const error = await rejectionOf(
              store.append(stream, [newEvent('test.A')], { expectedVersion: 'exists' }),
            );
            expect(error).toBeInstanceOf(ConcurrencyError);
            expect(await store.streamVersion(stream)).toBe(0);
            await store.append(stream, [newEvent('test.A')], { expectedVersion: 'no_stream' });
            expect(
              (await store.append(stream, [newEvent('test.B')], { expectedVersion: 'exists' })).version,
            ).toBe(2);
          }),
        );

        test(
          "'any' appends whatever the version",
          withStore(async (store) => {
            const stream = streamId('any');
            expect(
              (await store.append(stream, [newEvent('test.A')], { expectedVersion: 'any' })).version,
            ).toBe(1);
            expect(
              (await store.append(stream, [newEvent('test.B')], { expectedVersion: 'any' })).version,
            ).toBe(2);
            expect(await store.streamVersion(stream)).toBe(2);
          }),
        );
      });
    }

    if (groups.has('concurrency')) {
      describe('concurrent appends', () => {
        test(
          `of ${writers} concurrent appends at the same version exactly one wins`,
          withStore(async (store) => {
            const stream = streamId('race');
            await store.append(stream, [newEvent('test.Opened')], { expectedVersion: 0 });
            const batches = Array.from({ length: writers }, (_, writer) => [
              newEvent('test.Raced', { writer, part: 1 }),
              newEvent('test.Raced', { writer, part: 2 }),
            ]);
            const outcomes = await Promise.allSettled(
              batches.map((batch) => store.append(stream, batch, { expectedVersion: 1 })),
            );
            const winners = outcomes.flatMap((outcome, index) =>
              outcome.status === 'fulfilled' ? [index] : [],
            );
            expect(winners).toHaveLength(1);
            for (const outcome of outcomes) {
              if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ConcurrencyError);
            }
            const read = await store.readStream(stream);
            expect(read).toHaveLength(3);
            expect(read.slice(1).map((stored) => stored.eventId)).toEqual(
              batches[winners[0]!]!.map((event) => event.eventId),
            );
          }),
        );

        test(
          `of ${writers} concurrent creations of one stream exactly one wins`,
          withStore(async (store) => {
            const stream = streamId('create-race');
            const outcomes = await Promise.allSettled(
              Array.from({ length: writers }, (_, writer) =>
                store.append(stream, [newEvent('test.Created', { writer })], {
                  expectedVersion: 'no_stream',
                }),
              ),
            );
            expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
            expect(await store.streamVersion(stream)).toBe(1);
          }),
        );

        test(
          'concurrent appends to different streams all succeed with distinct positions',
          withStore(async (store) => {
            const streams = Array.from({ length: writers }, (_, index) => streamId(`parallel-${index}`));
            const results = await Promise.all(
              streams.map((stream) =>
                store.append(stream, [newEvent('test.A'), newEvent('test.B')], { expectedVersion: 0 }),
              ),
            );
            expect(results.map((result) => result.version)).toEqual(streams.map(() => 2));
            const positions = new Set<number>();
            for (const stream of streams)
              for (const stored of await store.readStream(stream)) positions.add(stored.position);
            expect(positions.size).toBe(writers * 2);
          }),
        );
      });
    }

    if (groups.has('read-all')) {
      describe('read all', () => {
        const seed = async (store: EventStore) => {
          const a = streamId('all-a');
          const b = streamId('all-b');
          const a1 = newEvent('test.A1');
          const a2 = newEvent('test.A2');
          const b1 = newEvent('test.B1');
          const a3 = newEvent('test.A3');
          await store.append(a, [a1, a2], { expectedVersion: 0 });
          await store.append(b, [b1], { expectedVersion: 0 });
          await store.append(a, [a3], { expectedVersion: 2 });
          const first = (await store.readStream(a, { limit: 1 }))[0]!;
          const ours = (events: StoredEvent[]) => events.filter((e) => e.streamId === a || e.streamId === b);
          return { before: first.position - 1, ids: [a1, a2, b1, a3].map((e) => e.eventId), ours };
        };

        test(
          'returns the events of every stream in append order, positions increasing',
          withStore(async (store) => {
            const { before, ids, ours } = await seed(store);
            const all = await store.readAll({ after: before });
            expectIncreasing(
              expect,
              all.map((stored) => stored.position),
            );
            expect(ours(all).map((stored) => stored.eventId)).toEqual(ids);
          }),
        );

        test(
          'returns only events after the given position',
          withStore(async (store) => {
            const { before, ids, ours } = await seed(store);
            const second = (await store.readAll({ after: before, limit: 2 }))[1]!;
            const later = await store.readAll({ after: second.position });
            for (const stored of later) expect(stored.position).toBeGreaterThan(second.position);
            expect(ours(later).map((stored) => stored.eventId)).toEqual(ids.slice(2));
          }),
        );

        test(
          'limit pages through every event exactly once',
          withStore(async (store) => {
            const { before, ids, ours } = await seed(store);
            const firstPage = await store.readAll({ after: before, limit: 2 });
            expect(firstPage).toHaveLength(2);
            expect(firstPage[0]!.eventId).toBe(ids[0]);
            const seen: StoredEvent[] = [...firstPage];
            let after = firstPage[1]!.position;
            for (;;) {
              const page = await store.readAll({ after, limit: 2 });
              if (page.length === 0) break;
              expect(page.length <= 2).toBe(true);
              seen.push(...page);
              after = page[page.length - 1]!.position;
            }
            expectIncreasing(
              expect,
              seen.map((stored) => stored.position),
            );
            expect(ours(seen).map((stored) => stored.eventId)).toEqual(ids);
          }),
        );

        test(
          'reading past the end returns nothing',
          withStore(async (store) => {
            const { before } = await seed(store);
            const all = await store.readAll({ after: before });
            const last = all[all.length - 1]!.position;
            expect(await store.readAll({ after: last + 1_000_000_000 })).toEqual([]);
          }),
        );
      });
    }

    if (groups.has('snapshots')) {
      describe('snapshots', () => {
        test(
          'saves and loads a snapshot',
          withStore(async (store) => {
            const stream = streamId('snap');
            const state = { balance: '10.50', items: [1, 2, { nested: 'yes' }], closed: false };
            await store.saveSnapshot({ streamId: stream, version: 5, state, schemaVersion: 2 });
            expect(await store.loadSnapshot(stream)).toEqual({
              streamId: stream,
              version: 5,
              state,
              schemaVersion: 2,
            });
          }),
        );

        test(
          'a later snapshot replaces the earlier one',
          withStore(async (store) => {
            const stream = streamId('snap-replace');
            await store.saveSnapshot({ streamId: stream, version: 5, state: { n: 5 }, schemaVersion: 1 });
            await store.saveSnapshot({ streamId: stream, version: 10, state: { n: 10 }, schemaVersion: 1 });
            const loaded = await store.loadSnapshot(stream);
            expect(loaded?.version).toBe(10);
            expect(loaded?.state).toEqual({ n: 10 });
          }),
        );

        test(
          'a stream without a snapshot loads none, and snapshots are per stream',
          withStore(async (store) => {
            const stream = streamId('snap-a');
            const other = streamId('snap-b');
            expect(await store.loadSnapshot(stream)).toBeUndefined();
            await store.saveSnapshot({
              streamId: other,
              version: 3,
              state: { other: true },
              schemaVersion: 1,
            });
            expect(await store.loadSnapshot(stream)).toBeUndefined();
            expect((await store.loadSnapshot(other))?.state).toEqual({ other: true });
          }),
        );
      });
    }

    if (groups.has('isolation')) {
      describe('stream isolation', () => {
        test(
          'streams keep their own versions and events, even when one id prefixes another',
          withStore(async (store) => {
            const stream = streamId('iso');
            const longer = `${stream}0`;
            await store.append(stream, [newEvent('test.Mine')], { expectedVersion: 0 });
            await store.append(longer, [newEvent('test.Theirs'), newEvent('test.Theirs')], {
              expectedVersion: 0,
            });
            await store.append(stream, [newEvent('test.Mine')], { expectedVersion: 1 });
            expect(await store.streamVersion(stream)).toBe(2);
            expect(await store.streamVersion(longer)).toBe(2);
            expect((await store.readStream(stream)).map((stored) => stored.type)).toEqual([
              'test.Mine',
              'test.Mine',
            ]);
            expect((await store.readStream(longer)).every((stored) => stored.streamId === longer)).toBe(true);
            expect(
              await rejectionOf(store.append(longer, [newEvent('test.X')], { expectedVersion: 3 })),
            ).toBeInstanceOf(ConcurrencyError);
          }),
        );
      });
    }

    if (groups.has('payloads')) {
      describe('payloads', () => {
        test(
          'large payloads survive unchanged',
          withStore(async (store) => {
            const stream = streamId('large');
            const data = {
              text: 'x'.repeat(1_000_000),
              rows: Array.from({ length: 10_000 }, (_, index) => ({ index, amount: `${index}.25` })),
              deep: { a: { b: { c: { d: { e: [1.5, -2, 0, true, null] } } } } },
            };
            await store.append(stream, [newEvent('test.Large', data)], { expectedVersion: 0 });
            const [stored] = await store.readStream(stream);
            expect(stored?.data).toEqual(data);
          }),
        );

        test(
          'unicode survives in stream ids, types, data and metadata',
          withStore(async (store) => {
            const text = 'Zürich · 東京 · مرحبا · e\u0301 · 🚀👩‍👩‍👧 · "quotes" \\ back\nslash';
            const stream = streamId('ünï-🚀');
            const event = newEvent('test.Ünïcödé🚀', { text, [text]: 'key too' }, { note: text });
            await store.append(stream, [event], { expectedVersion: 0 });
            const [stored] = await store.readStream(stream);
            expect(stored?.streamId).toBe(stream);
            expect(stored?.type).toBe(event.type);
            expect(stored?.data).toEqual(event.data);
            expect(stored?.metadata).toEqual(event.metadata);
          }),
        );

        test(
          'dates and bigints in encodeJson form, and occurredAt, survive',
          withStore(async (store) => {
            const stream = streamId('dates');
            const at = new Date('2024-02-29T23:59:59.123Z');
            const data = JSON.parse(
              encodeJson({ at, history: [{ when: at }], big: 12345678901234567890n, amount: '0.00012345' }),
            ) as Record<string, unknown>;
            const event = { ...newEvent('test.Dated', data), occurredAt: Date.UTC(2001, 0, 2, 3, 4, 5, 678) };
            await store.append(stream, [event], { expectedVersion: 0 });
            const [stored] = await store.readStream(stream);
            expect(stored?.occurredAt).toBe(event.occurredAt);
            const decoded = decodeJson(JSON.stringify(stored?.data)) as {
              at: Date;
              history: { when: Date }[];
              big: bigint;
              amount: string;
            };
            expect(decoded.at).toBeInstanceOf(Date);
            expect(decoded.at.getTime()).toBe(at.getTime());
            expect(decoded.history[0]?.when.getTime()).toBe(at.getTime());
            expect(decoded.big).toBe(12345678901234567890n);
            expect(decoded.amount).toBe('0.00012345');
          }),
        );
      });
    }
  });
}

function streamId(label: string): string {
  return `contract-${label}-${newId()}`;
}

function newEvent(
  type: string,
  data: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): NewEvent {
  return { eventId: newId(), type, data, metadata, occurredAt: Date.now() };
}

function expectIncreasing(expect: EventStoreContractRunner['expect'], positions: number[]): void {
  for (let index = 1; index < positions.length; index++) {
    expect(positions[index]!).toBeGreaterThan(positions[index - 1]!);
  }
}

import { ConcurrencyError, DuplicateEventError } from '@finaegis/core';
import { rejectionOf } from '../registration';
import type { EventStoreGroupContext } from './context';
import { expectIncreasing, newEvent, streamId } from './events';

/** The `append-and-read` group of the event store contract. */
export function appendAndRead({ describe, test, expect, withStore }: EventStoreGroupContext): void {
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
        expect(read.map((stored) => stored.type)).toEqual(['test.A', 'test.B', 'test.C', 'test.D', 'test.E']);
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

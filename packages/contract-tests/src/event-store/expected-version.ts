import { ConcurrencyError } from '@finaegis/core';
import { rejectionOf } from '../registration';
import type { EventStoreGroupContext } from './context';
import { newEvent, streamId } from './events';

/** The `expected-version` group of the event store contract. */
export function expectedVersion({ describe, test, expect, withStore }: EventStoreGroupContext): void {
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
        expect((await store.append(stream, [newEvent('test.A')], { expectedVersion: 'any' })).version).toBe(
          1,
        );
        expect((await store.append(stream, [newEvent('test.B')], { expectedVersion: 'any' })).version).toBe(
          2,
        );
        expect(await store.streamVersion(stream)).toBe(2);
      }),
    );
  });
}

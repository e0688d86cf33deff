import { ConcurrencyError } from '@finaegis/core';
import { rejectionOf } from '../registration';
import type { EventStoreGroupContext } from './context';
import { newEvent, streamId } from './events';

/** The `isolation` group of the event store contract. */
export function isolation({ describe, test, expect, withStore }: EventStoreGroupContext): void {
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

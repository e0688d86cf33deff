import type { EventStoreGroupContext } from './context';
import { streamId } from './events';

/** The `snapshots` group of the event store contract. */
export function snapshots({ describe, test, expect, withStore }: EventStoreGroupContext): void {
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

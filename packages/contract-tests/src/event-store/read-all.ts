import type { EventStore, StoredEvent } from '@finaegis/core';
import type { EventStoreGroupContext } from './context';
import { expectIncreasing, newEvent, streamId } from './events';

/** The `read-all` group of the event store contract. */
export function readAll({ describe, test, expect, withStore }: EventStoreGroupContext): void {
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

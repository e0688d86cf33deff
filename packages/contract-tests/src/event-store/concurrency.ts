import { ConcurrencyError } from '@finaegis/core';
import type { EventStoreGroupContext } from './context';
import { newEvent, streamId } from './events';

/** The `concurrency` group of the event store contract. */
export function concurrency({ describe, test, expect, withStore, writers }: EventStoreGroupContext): void {
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
        const winners = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [index] : []));
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

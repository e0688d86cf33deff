import { decodeJson, encodeJson } from '@finaegis/core';
import type { EventStoreGroupContext } from './context';
import { newEvent, streamId } from './events';

/** The `payloads` group of the event store contract. */
export function payloads({ describe, test, expect, withStore }: EventStoreGroupContext): void {
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

import type { SendOptions, Transport, TransportMessage } from '@finaegis/core';
import { createMemoryTransport, type MemoryTransport } from '@finaegis/memory';
import { createOutboxRelay, createPostgresTransactionManager } from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema, message, waitUntil } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
});
afterAll(async () => {
  await db?.drop();
});

/**
 * Our in-memory transport behind a switch: while `down`, every send fails the way a broker that
 * cannot be reached does (a retryable error), and reaches nothing.
 */
class SwitchedTransport implements Pick<Transport, 'name' | 'send'> {
  readonly name = 'switched-memory';
  down = true;
  failedSends = 0;

  constructor(private readonly inner: MemoryTransport) {}

  async send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void> {
    if (this.down) {
      this.failedSends++;
      throw new Error('broker unreachable');
    }
    await this.inner.send(channel, message, options);
  }
}

describe('outbox during a transport outage after commit', () => {
  test('nothing committed is lost: once the transport is back everything arrives once, in order per channel', async () => {
    const memory = createMemoryTransport();
    const transport = new SwitchedTransport(memory);
    const received = new Map<string, string[]>([
      ['orders', []],
      ['payments', []],
    ]);
    for (const [channel, ids] of received) {
      await memory.consume(channel, async (m) => void ids.push(m.id), { group: 'workers' });
    }
    // The relay's own retry policy, as users get it; only the poll is shortened for the test.
    const relay = createOutboxRelay({ pool: db.pool, schema: db.schema, transport, pollIntervalMs: 100 });
    await relay.start();
    const manager = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    const expected = new Map<string, string[]>([
      ['orders', []],
      ['payments', []],
    ]);
    try {
      for (let batch = 1; batch <= 3; batch++) {
        // Commits succeed while the transport is down: the caller's work is done.
        await manager.run(
          async (tx) => {
            for (const [channel, ids] of expected) {
              for (const n of [1, 2]) {
                const id = `${channel}-${batch}-${n}`;
                await tx.enqueue!(channel, message(id, `body ${id}`, `key-${n}`));
                ids.push(id);
              }
            }
          },
          { timeoutMs: 10_000 },
        );
      }
      // Down for a while after the commits: several rounds of sends fail.
      await waitUntil(() => transport.failedSends >= 3, 'the relay to try, and fail, several times');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect([...received.values()].flat()).toEqual([]);
      expect(await relay.pending()).toBe(12);
      transport.down = false;
      await waitUntil(
        () => [...received.values()].every((ids) => ids.length >= 6),
        'every message to arrive after the transport recovered',
        15_000,
      );
      // Time for a duplicate to show up, if one were coming.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(received.get('orders')).toEqual(expected.get('orders'));
      expect(received.get('payments')).toEqual(expected.get('payments'));
      expect(await relay.pending()).toBe(0);
      expect(await relay.failed()).toEqual([]);
    } finally {
      await relay.stop();
      await memory.close();
      await manager.close();
    }
  });
});

// Commit-ordered outbox: rows that concurrent transactions enqueue to one channel are sent in the
// order the transactions committed, not in the order their ids were drawn; and a relay with
// per-channel ordering serves every pending channel, not only those among the first rows.
import { createOutboxRelay, createPostgresTransactionManager, type OutboxRelay } from '@finaegis/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema, message, RecordingTransport } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema(40);
});
afterAll(async () => {
  await db?.drop();
});
const relays: OutboxRelay[] = [];
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.stop();
  await db.pool.query(`TRUNCATE "${db.schema}".outbox`);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function relay(transport: RecordingTransport, batchSize = 100): OutboxRelay {
  const r = createOutboxRelay({ pool: db.pool, schema: db.schema, transport, batchSize, listen: false });
  relays.push(r);
  return r;
}

async function drain(group: OutboxRelay[]): Promise<void> {
  await Promise.all(
    group.map(async (r) => {
      for (;;) {
        const sent = await r.runOnce();
        if (sent === 0 && (await r.pending()) === 0) return;
        if (sent === 0) await sleep(2);
      }
    }),
  );
}

describe('outbox order', () => {
  test('rows enqueued to one channel by concurrent transactions are sent in commit order, not id order', async () => {
    const manager = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    const commitOrder: string[] = [];
    const transport = new RecordingTransport();
    const live = relay(transport, 7);
    let relaying = true;
    // A relay sends while the enqueuers commit, so an early send of a later commit would show.
    const relayLoop = (async () => {
      while (relaying) if ((await live.runOnce()) === 0) await sleep(1);
    })();
    const enqueuers = 24;
    await Promise.all(
      Array.from({ length: enqueuers }, async (_, n) => {
        for (let round = 0; round < 5; round++) {
          const id = `m-${n}-${round}`;
          await manager.run(
            async (tx) => {
              // The id is drawn now; the commit comes after a pause of varying length, so
              // transactions that drew later ids often commit first.
              await tx.enqueue!('orders', message(id));
              await sleep((n * 7 + round * 3) % 11);
            },
            { timeoutMs: 10_000 },
          );
          commitOrder.push(id);
        }
      }),
    );
    relaying = false;
    await relayLoop;
    await drain([live]);
    const sent = transport.sent.map((s) => s.message.id);
    expect(sent).toHaveLength(enqueuers * 5);
    expect(new Set(sent).size).toBe(enqueuers * 5);
    // Id order differs from commit order (otherwise this test would prove nothing)...
    const { rows } = await db.pool.query<{ message_id: string }>(
      `SELECT message_id FROM "${db.schema}".outbox ORDER BY id`,
    );
    expect(rows.map((r) => r.message_id)).not.toEqual(commitOrder);
    // ...and what was sent follows commit order. (commitOrder is taken when run() resolves, which
    // is after COMMIT: two commits can finish within one event-loop turn and be pushed in either
    // order, so compare with the stored commit sequence too.)
    const { rows: sealed } = await db.pool.query<{ message_id: string }>(
      `SELECT message_id FROM "${db.schema}".outbox ORDER BY commit_seq`,
    );
    expect(sent).toEqual(sealed.map((r) => r.message_id));
    let inversions = 0;
    const rank = new Map(commitOrder.map((id, index) => [id, index]));
    for (let index = 1; index < sent.length; index++) {
      if (rank.get(sent[index]!)! < rank.get(sent[index - 1]!)!) inversions++;
    }
    // Only commits finishing in the same turn can be noticed out of order by the test itself.
    expect(inversions).toBeLessThanOrEqual(Math.ceil(sent.length / 10));
  }, 30_000);

  test('with per-channel ordering, a relay serves every pending channel, though one channel fills many batches', async () => {
    const manager = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    // A backlog of 500 on one channel, enqueued first, then one row on each of 20 other channels.
    await manager.run(
      async (tx) => {
        for (let i = 0; i < 500; i++) await tx.enqueue!('busy', message(`busy-${i}`));
      },
      { timeoutMs: 10_000 },
    );
    await manager.run(
      async (tx) => {
        for (let c = 0; c < 20; c++) await tx.enqueue!(`quiet-${c}`, message(`quiet-${c}`));
      },
      { timeoutMs: 10_000 },
    );
    const transport = new RecordingTransport();
    const r = relay(transport, 50);
    // The first batch already reaches every channel, instead of 50 rows of "busy".
    await r.runOnce();
    const channels = new Set(transport.sent.map((s) => s.channel));
    expect(channels.size).toBe(21);
    await drain([r]);
    const busy = transport.sent.filter((s) => s.channel === 'busy').map((s) => Number(s.message.id.slice(5)));
    expect(busy).toEqual(busy.map((_, index) => index));
    expect(transport.sent).toHaveLength(520);
  });
});

import { InvalidArgumentError, type TransactionContext, UnsupportedFeatureError } from '@finaegis/core';
import {
  createOutboxRelay,
  createPostgresTransactionManager,
  type OutboxRelay,
  type PostgresTransactionManager,
} from '@finaegis/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema, message, RecordingTransport, waitUntil } from './helpers';

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
  // Each test starts from an empty outbox.
  await db.pool.query(`TRUNCATE "${db.schema}".outbox`);
});

function manager(): PostgresTransactionManager {
  return createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
}

function relay(
  transport: RecordingTransport,
  options: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {},
) {
  const r = createOutboxRelay({
    pool: db.pool,
    schema: db.schema,
    transport,
    backoff: { type: 'fixed', delayMs: 1 },
    ...options,
  });
  relays.push(r);
  return r;
}

async function enqueueMany(ids: string[], channel = 'events'): Promise<void> {
  await manager().run(
    async (tx) => {
      for (const id of ids) await tx.enqueue!(channel, message(id, `body ${id} ✓`, `key-${id}`));
    },
    { timeoutMs: 10_000 },
  );
}

describe('outbox', () => {
  test('enqueued rows are sent after commit, in order, intact, and marked sent', async () => {
    const transport = new RecordingTransport();
    const r = relay(transport);
    let enqueuedBeforeCommit = -1;
    await manager().run(
      async (tx) => {
        await tx.enqueue!('commands', message('m1', 'one', 'k1'), { priority: 3, dedupeId: 'd1' });
        await tx.enqueue!('commands', message('m2', 'two'), { key: 'override' });
        await tx.enqueue!('events', message('m3', 'three'));
        // Not visible to a relay before commit.
        enqueuedBeforeCommit = await r.runOnce();
      },
      { timeoutMs: 10_000 },
    );
    expect(enqueuedBeforeCommit).toBe(0);
    expect(await r.runOnce()).toBe(3);
    expect(transport.sent.map((s) => [s.channel, s.message.id])).toEqual([
      ['commands', 'm1'],
      ['commands', 'm2'],
      ['events', 'm3'],
    ]);
    expect(transport.sent[0]!.message).toEqual(message('m1', 'one', 'k1'));
    expect(transport.sent[0]!.options).toEqual({ priority: 3, key: 'k1', dedupeId: 'd1' });
    expect(transport.sent[1]!.options).toEqual({ key: 'override' });
    expect(await r.pending()).toBe(0);
    expect(await r.runOnce()).toBe(0);
    expect(transport.sent).toHaveLength(3);
  });

  test('a rolled-back transaction enqueues nothing', async () => {
    const transport = new RecordingTransport();
    await expect(
      manager().run(
        async (tx) => {
          await tx.enqueue!('events', message('gone'));
          throw new Error('rollback');
        },
        { timeoutMs: 10_000 },
      ),
    ).rejects.toThrow('rollback');
    expect(await relay(transport).runOnce()).toBe(0);
    expect(transport.sent).toEqual([]);
  });

  test('bad input to enqueue is an InvalidArgumentError inside the transaction, which rolls back', async () => {
    const refused = (argument: string) =>
      expect.objectContaining({ name: 'InvalidArgumentError', adapter: '@finaegis/postgres', argument });
    const attempt = (work: (tx: TransactionContext) => Promise<void>) =>
      manager().run(
        async (tx) => {
          await tx.enqueue!('events', message('before'));
          await work(tx);
        },
        { timeoutMs: 10_000 },
      );
    await expect(attempt((tx) => tx.enqueue!('', message('x')))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(attempt((tx) => tx.enqueue!('', message('x')))).rejects.toEqual(refused('channel'));
    await expect(
      attempt((tx) => tx.enqueue!('events', { ...message('x'), body: 1 } as never)),
    ).rejects.toEqual(refused('message.body'));
    await expect(
      attempt((tx) => tx.enqueue!('events', { ...message('x'), headers: { h: 1 } } as never)),
    ).rejects.toEqual(refused('message.headers'));
    await expect(attempt((tx) => tx.enqueue!('events', message('x'), { delayMs: -5 }))).rejects.toEqual(
      refused('delayMs'),
    );
    await expect(attempt((tx) => tx.enqueue!('events', message('x'), { dedupeId: '' }))).rejects.toEqual(
      refused('dedupeId'),
    );
    const transport = new RecordingTransport();
    expect(await relay(transport).runOnce()).toBe(0);
    expect(transport.sent).toEqual([]);
  });

  test('a delay keeps only what is left of it when the row is relayed', async () => {
    const transport = new RecordingTransport();
    await manager().run(async (tx) => tx.enqueue!('commands', message('later'), { delayMs: 60_000 }), {
      timeoutMs: 10_000,
    });
    await relay(transport).runOnce();
    const delay = transport.sent[0]!.options!.delayMs!;
    expect(delay).toBeGreaterThan(50_000);
    expect(delay).toBeLessThanOrEqual(60_000);
  });

  test('failed sends are retried with backoff, and later rows of the channel wait their turn', async () => {
    const transport = new RecordingTransport();
    transport.failures = 2;
    await enqueueMany(['a', 'b', 'c']);
    const r = relay(transport, { backoff: { type: 'fixed', delayMs: 50 } });
    expect(await r.runOnce()).toBe(0);
    // In backoff: the head row is not due, so nothing of its channel goes out of order.
    expect(await r.runOnce()).toBe(0);
    await waitUntil(async () => (await r.runOnce()) > 0 || transport.sent.length > 0, 'retries to succeed');
    while ((await r.pending()) > 0) await r.runOnce();
    expect(transport.sent.map((s) => s.message.id)).toEqual(['a', 'b', 'c']);
    const { rows } = await db.pool.query<{ attempts: number }>(
      `SELECT attempts FROM "${db.schema}".outbox ORDER BY id`,
    );
    expect(rows.map((row) => row.attempts)).toEqual([2, 0, 0]);
  });

  test('a failing channel does not hold back another channel', async () => {
    const transport = new RecordingTransport();
    await enqueueMany(['x1'], 'broken');
    await enqueueMany(['y1', 'y2'], 'fine');
    transport.failures = 1;
    expect(await relay(transport, { backoff: { type: 'fixed', delayMs: 60_000 } }).runOnce()).toBe(2);
    expect(transport.sent.map((s) => s.message.id)).toEqual(['y1', 'y2']);
  });

  test('rows that keep failing, or fail for good, are set aside and can be retried', async () => {
    const transport = new RecordingTransport();
    transport.failures = 1;
    transport.failWith = () => new UnsupportedFeatureError('recording', 'teleport');
    await enqueueMany(['poison', 'fine']);
    const r = relay(transport, { maxAttempts: 5 });
    expect(await r.runOnce()).toBe(0);
    expect(await r.runOnce()).toBe(1);
    expect(transport.sent.map((s) => s.message.id)).toEqual(['fine']);
    const failed = await r.failed();
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message.id).toBe('poison');
    expect(failed[0]!.attempts).toBe(1);
    expect(failed[0]!.lastError).toMatch(/UnsupportedFeatureError/);
    expect(await r.retryFailed()).toBe(1);
    expect(await r.runOnce()).toBe(1);
    expect(transport.sent.map((s) => s.message.id)).toEqual(['fine', 'poison']);
  });

  test("several relays at once (ordering: 'none') never send a row twice and together send every row", async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `r${i}`);
    for (let i = 0; i < ids.length; i += 50) await enqueueMany(ids.slice(i, i + 50));
    const transport = new RecordingTransport();
    const group = Array.from({ length: 4 }, () => relay(transport, { batchSize: 7, ordering: 'none' }));
    const perRelay = await Promise.all(
      group.map(async (r) => {
        let total = 0;
        for (;;) {
          const sent = await r.runOnce();
          if (sent === 0 && (await r.pending()) === 0) return total;
          total += sent;
        }
      }),
    );
    const sentIds = transport.sent.map((s) => s.message.id);
    expect(sentIds).toHaveLength(ids.length);
    expect(new Set(sentIds).size).toBe(ids.length);
    expect(perRelay.reduce((a, b) => a + b, 0)).toBe(ids.length);
    // The work really was shared.
    expect(perRelay.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  test("several relays at once (ordering: 'channel') keep each channel in order and send once", async () => {
    const channels = ['c0', 'c1', 'c2'];
    for (let round = 0; round < 4; round++) {
      await manager().run(
        async (tx) => {
          for (let i = 0; i < 30; i++) {
            const channel = channels[i % channels.length]!;
            await tx.enqueue!(channel, message(`${channel}-${round * 30 + i}`));
          }
        },
        { timeoutMs: 10_000 },
      );
    }
    const transport = new RecordingTransport();
    const group = Array.from({ length: 4 }, () => relay(transport, { batchSize: 5 }));
    await Promise.all(
      group.map(async (r) => {
        for (;;) {
          const sent = await r.runOnce();
          if (sent === 0 && (await r.pending()) === 0) return;
          if (sent === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }),
    );
    const sentIds = transport.sent.map((s) => s.message.id);
    expect(sentIds).toHaveLength(120);
    expect(new Set(sentIds).size).toBe(120);
    for (const channel of channels) {
      const own = transport.sent
        .filter((s) => s.channel === channel)
        .map((s) => Number(s.message.id.split('-')[1]));
      expect(own).toEqual([...own].sort((a, b) => a - b));
      expect(own).toHaveLength(40);
    }
  });

  test('a claim that loses a deadlock is rolled back and run again; runOnce does not fail', async () => {
    await enqueueMany(['a', 'b'], 'contested');
    const transport = new RecordingTransport();
    const r = relay(transport);
    // Another client locks the rows in the opposite order to the claim: 'b' first, then 'a'.
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      // The claim, waiting first, is the one the server picks as the victim; never this client.
      await other.query("SET LOCAL deadlock_timeout = '30s'");
      await other.query("SET LOCAL statement_timeout = '20s'");
      await other.query(`SELECT id FROM "${db.schema}".outbox WHERE message_id = 'b' FOR UPDATE`);
      const round = r.runOnce();
      await waitUntil(async () => {
        const { rows } = await db.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND query LIKE $1 AND query LIKE '%SET claimed_by = $2%'`,
          [`%"${db.schema}".outbox%`],
        );
        return Number(rows[0]!.n) > 0;
      }, 'the claim to wait for the row lock on b');
      // Granted only if the claim, which holds 'a' and waits for 'b', was rolled back.
      await other.query(`SELECT id FROM "${db.schema}".outbox WHERE message_id = 'a' FOR UPDATE`);
      await other.query('COMMIT');
      expect(await round).toBe(2);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      other.release();
    }
    expect(transport.sent.map((s) => s.message.id)).toEqual(['a', 'b']);
    expect(await r.pending()).toBe(0);
  });

  test("ordering: 'channel' skips a channel another claim holds, without waiting, and takes it later", async () => {
    await enqueueMany(['b1', 'b2'], 'busy');
    await enqueueMany(['f1'], 'free');
    const transport = new RecordingTransport();
    const r = relay(transport);
    const other = await db.pool.connect();
    try {
      // What a concurrent claim of 'busy' holds while it leases that channel's rows.
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [0x46_41_4f, `${db.schema}.busy`]);
      expect(await r.runOnce()).toBe(1);
      expect(transport.sent.map((s) => s.message.id)).toEqual(['f1']);
      await other.query('COMMIT');
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      other.release();
    }
    expect(await r.runOnce()).toBe(2);
    expect(transport.sent.map((s) => s.message.id)).toEqual(['f1', 'b1', 'b2']);
  });

  test('bad relay options are typed errors', () => {
    const transport = new RecordingTransport();
    expect(() => relay(transport, { batchSize: 0 })).toThrow(/batchSize/);
    expect(() => relay(transport, { ordering: 'random' as 'none' })).toThrow(/ordering/);
  });

  test('a started relay wakes on NOTIFY and sends without waiting for its poll', async () => {
    const transport = new RecordingTransport();
    const r = relay(transport, { pollIntervalMs: 60_000 });
    await r.start();
    await r.start();
    await enqueueMany(['n1', 'n2']);
    await waitUntil(() => transport.sent.length === 2, 'the relay to send after NOTIFY');
    expect(transport.sent.map((s) => s.message.id)).toEqual(['n1', 'n2']);
    await r.stop();
    await r.stop();
    await enqueueMany(['after-stop']);
    expect(transport.sent).toHaveLength(2);
  });

  test('a message enqueued only inside a savepoint still wakes a listening relay after commit', async () => {
    const transport = new RecordingTransport();
    const r = relay(transport, { pollIntervalMs: 60_000 });
    await r.start();
    await manager().run(
      async (tx) => {
        await tx.savepoint((nested) => nested.enqueue!('events', message('in-savepoint')));
      },
      { timeoutMs: 10_000 },
    );
    await waitUntil(() => transport.sent.length === 1, 'the relay to send after NOTIFY');
    expect(transport.sent[0]!.message.id).toBe('in-savepoint');
  });

  test('a started relay without LISTEN polls', async () => {
    const transport = new RecordingTransport();
    const r = relay(transport, { pollIntervalMs: 20, listen: false });
    await r.start();
    await enqueueMany(['p1']);
    await waitUntil(() => transport.sent.length === 1, 'the relay to poll');
    expect(transport.sent[0]!.message.id).toBe('p1');
  });
});

import { InvalidArgumentError, silentLogger } from '@finaegis/core';
import {
  createOutboxRelay,
  createPostgresMessageScheduler,
  createPostgresTransactionManager,
  PostgresError,
} from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema, message, RecordingTransport } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
});
afterAll(async () => {
  await db?.drop();
});

const RUN = { timeoutMs: 10_000 };
const conn = () => ({ pool: db.pool, schema: db.schema, logger: silentLogger, listen: false });
const kept = async (channel: string) =>
  Number(
    (
      await db.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${db.schema}".scheduled_messages WHERE channel = $1`,
        [channel],
      )
    ).rows[0]?.n,
  );
const outboxed = async (channel: string) =>
  (
    await db.pool.query<{ message_id: string }>(
      `SELECT message_id FROM "${db.schema}".outbox WHERE channel = $1 ORDER BY commit_seq`,
      [channel],
    )
  ).rows.map((row) => row.message_id);

describe('PostgresMessageScheduler', () => {
  test('a message scheduled in a transaction is kept only when the transaction commits', async () => {
    const scheduler = createPostgresMessageScheduler(conn());
    const manager = createPostgresTransactionManager(conn());
    const due = Date.now() + 60_000;
    await manager
      .run(async () => {
        await scheduler.schedule('sched-a', message('rolled-back'), due);
        throw new RangeError('the step failed');
      }, RUN)
      .catch(() => undefined);
    expect(await kept('sched-a')).toBe(0);
    await manager.run(() => scheduler.schedule('sched-a', message('committed'), due), RUN);
    expect(await kept('sched-a')).toBe(1);
  });

  test('only due messages move to the outbox, whole, and the outbox relay sends them without a delay', async () => {
    const scheduler = createPostgresMessageScheduler(conn());
    await scheduler.schedule('sched-b', message('later'), Date.now() + 60_000);
    await scheduler.schedule('sched-b', message('due-2', 'second', 'k2'), Date.now() - 10);
    await scheduler.schedule('sched-b', message('due-1', 'first', 'k1'), Date.now() - 20);
    await scheduler.releaseDue();
    expect(await outboxed('sched-b')).toEqual(['due-1', 'due-2']);
    expect(await kept('sched-b')).toBe(1);
    const transport = new RecordingTransport();
    const relay = createOutboxRelay({ ...conn(), transport });
    await relay.runOnce();
    const sent = transport.sent.filter((s) => s.channel === 'sched-b');
    expect(sent.map((s) => s.message)).toEqual([
      message('due-1', 'first', 'k1'),
      message('due-2', 'second', 'k2'),
    ]);
    expect(sent.map((s) => s.options?.delayMs)).toEqual([undefined, undefined]);
    await relay.stop();
  });

  test('schedulers releasing at once move each due message exactly once', async () => {
    const [one, two] = [
      createPostgresMessageScheduler({ ...conn(), batchSize: 7 }),
      createPostgresMessageScheduler({ ...conn(), batchSize: 5 }),
    ];
    const ids = Array.from({ length: 200 }, (_, index) => `race-${index}`);
    for (const id of ids) await one.schedule('sched-c', message(id), Date.now() - 1);
    const drain = async (scheduler: typeof one) => {
      while ((await scheduler.releaseDue()) > 0);
    };
    await Promise.all([drain(one), drain(two), drain(one), drain(two)]);
    const moved = await outboxed('sched-c');
    expect(moved).toHaveLength(200);
    expect(new Set(moved).size).toBe(200);
    expect(await kept('sched-c')).toBe(0);
  });

  test('a started scheduler releases a message when it falls due, not before', async () => {
    const scheduler = createPostgresMessageScheduler({ ...conn(), listen: true, pollIntervalMs: 5_000 });
    await scheduler.start();
    const scheduledAt = Date.now();
    await scheduler.schedule('sched-d', message('soon'), scheduledAt + 300);
    const deadline = Date.now() + 10_000;
    while ((await outboxed('sched-d')).length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const { rows } = await db.pool.query<{ created_ms: string }>(
      `SELECT (extract(epoch FROM created_at) * 1000)::bigint AS created_ms FROM "${db.schema}".outbox WHERE channel = 'sched-d'`,
    );
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.created_ms)).toBeGreaterThanOrEqual(scheduledAt + 300);
    await scheduler.stop();
    await expect(scheduler.start()).rejects.toBeInstanceOf(PostgresError);
  });

  test('bad input is refused with InvalidArgumentError before anything is kept', async () => {
    const scheduler = createPostgresMessageScheduler(conn());
    await expect(scheduler.schedule('', message('x'), Date.now())).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(
      scheduler.schedule('sched-e', { ...message('x'), body: 42 as unknown as string }, Date.now()),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(scheduler.schedule('sched-e', message('x'), Number.NaN)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(await kept('sched-e')).toBe(0);
  });
});

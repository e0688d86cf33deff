// Jobs added by another producer with BullMQ's own `Queue.add` and its default job options (one
// attempt, no backoff, nothing removed) get the consumer's retry and dead-letter policy, and the
// README's foreign producer (the function between the markers, character for character) reaches
// every group of a channel.
import { readFileSync } from 'node:fs';
import {
  Command,
  createCqrs,
  ENVELOPE_CONTENT_TYPE,
  type ReceivedMessage,
  silentLogger,
} from '@finaegis/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type Harness, harness, requireRedis, until } from './helpers';

// --- README foreign producer start ---
/** What `send` does, for a producer outside this library: the job goes to every group's queue. */
async function addToChannel(
  redis: Redis,
  prefix: string, // the transport's `prefix` option (default `finaegis`)
  channel: string,
  message: { id: string; type: string; body: string; headers: Record<string, string>; key?: string },
): Promise<void> {
  const groups = await redis.smembers(`${prefix}:${channel}.~groups`);
  // No group yet: the backlog, which the first group to consume takes over.
  for (const group of groups.length > 0 ? groups : ['~backlog']) {
    const queue = new Queue(`${channel}.${group}`, { connection: redis, prefix });
    await queue.add(message.type, message); // BullMQ's default job options
    await queue.close();
  }
}
// --- README foreign producer end ---

class ReserveFunds extends Command<void> {
  static readonly messageType = 'exchange.ReserveFunds';
  constructor(
    readonly accountId: string,
    readonly amount: string,
  ) {
    super();
  }
}

let h: Harness;
beforeAll(requireRedis);
beforeEach(() => {
  h = harness();
});
afterEach(async () => {
  await h.cleanup();
});

const policy = { attempts: 3, backoff: { type: 'fixed' as const, delayMs: 20 } };

class Flaky extends Error {
  override name = 'Flaky';
}

describe('jobs of other producers', () => {
  test("a raw Queue.add job with default options is retried per the consumer's policy, then dead-lettered", async () => {
    const t = h.transport();
    const attempts: string[] = [];
    await t.consume(
      'ledger',
      async (m) => {
        attempts.push(`${m.body}#${m.attempt}`);
        if (m.body === 'always' || m.attempt < 3) throw new Flaky(`${m.body} fails`);
      },
      { group: 'g', retry: policy },
    );
    const queue = new Queue('ledger.g', { connection: h.client(), prefix: h.prefix });
    await queue.add('test.Step', {
      id: 'j-1',
      type: 'test.Step',
      body: 'third-time',
      headers: {},
      key: 'acct-1',
    });
    await queue.add('test.Step', { id: 'j-2', type: 'test.Step', body: 'always', headers: { trace: 't' } });

    await until(async () => (await t.deadLetters('ledger')).length === 1, 'the dead letter', 20_000);
    await until(() => attempts.length === 6, 'six attempts');
    expect(attempts.filter((a) => a.startsWith('third-time'))).toEqual([
      'third-time#1',
      'third-time#2',
      'third-time#3',
    ]);
    expect(attempts.filter((a) => a.startsWith('always'))).toEqual(['always#1', 'always#2', 'always#3']);
    const [dead] = await t.deadLetters('ledger');
    expect(dead).toMatchObject({
      group: 'g',
      attempts: 3,
      message: { id: 'j-2', type: 'test.Step', body: 'always', headers: { trace: 't' } },
      error: { name: 'Flaky', message: 'always fails' },
    });
    // The job that succeeded is completed (kept per `keepCompleted`), the other is a failed job.
    expect(await queue.getJobCounts('completed', 'failed', 'delayed', 'wait')).toEqual({
      completed: 1,
      failed: 1,
      delayed: 0,
      wait: 0,
    });

    // Re-driven, it gets a full set of attempts again.
    const later: string[] = [];
    attempts.length = 0;
    expect(await t.redrive('ledger')).toBe(1);
    await until(() => attempts.length === 3, 'three more attempts');
    later.push(...attempts);
    expect(later).toEqual(['always#1', 'always#2', 'always#3']);
    await until(async () => (await t.deadLetters('ledger')).length === 1, 'the dead letter again');
    await queue.close();
  });

  test('the README producer reaches every group, and a worker handles the command it carries', async () => {
    const t = h.transport();
    const app = createCqrs({ transport: t, logger: silentLogger });
    const reserved: string[] = [];
    let failures = 1;
    app.commandBus.register(ReserveFunds, async (command: ReserveFunds) => {
      if (failures-- > 0) throw new Flaky('once');
      reserved.push(`${command.accountId} ${command.amount}`);
    });
    await app.startWorker({ group: 'workers', channels: ['commands'], retry: policy });
    const audit: ReceivedMessage[] = [];
    await t.consume('commands', async (m) => void audit.push(m), { group: 'audit' });

    // What a producer in another language writes: the envelope as `body`, the same id and type.
    const envelope = {
      v: 1,
      id: '01JEXTERNAL0000000000000001',
      type: 'exchange.ReserveFunds',
      kind: 'command',
      timestamp: Date.now(),
      metadata: {},
      payload: { accountId: 'acc-1', amount: '12.50' },
    };
    await addToChannel(h.client(), h.prefix, 'commands', {
      id: envelope.id,
      type: envelope.type,
      body: JSON.stringify(envelope),
      headers: { 'content-type': ENVELOPE_CONTENT_TYPE },
      key: 'acc-1',
    });
    await until(() => reserved.length === 1 && audit.length === 1, 'both groups');
    expect(reserved).toEqual(['acc-1 12.50']);
    expect(audit[0]).toMatchObject({
      id: envelope.id,
      type: 'exchange.ReserveFunds',
      key: 'acc-1',
      attempt: 1,
    });
    expect(await t.deadLetters('commands')).toEqual([]);
    await app.close();
  });

  test('before any group exists the job waits in the backlog, and the first group takes it', async () => {
    const t = h.transport();
    const message = { id: 'b-1', type: 'test.Early', body: 'early', headers: {} };
    await addToChannel(h.client(), h.prefix, 'early', message);
    const seen: ReceivedMessage[] = [];
    await t.consume('early', async (m) => void seen.push(m), { group: 'first' });
    await until(() => seen.length === 1, 'the backlog job');
    expect(seen[0]).toMatchObject(message);
  });

  test('the README shows the foreign producer as it is here', () => {
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    const example = source
      .split('// --- README foreign producer start ---\n')[1]!
      .split('// --- README foreign producer end ---')[0]!;
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(example.trim());
  });
});

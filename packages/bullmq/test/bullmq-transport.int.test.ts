import {
  CommandExecutionError,
  ConfigError,
  InvalidArgumentError,
  MessageDecodeError,
  type ReceivedMessage,
  TransportClosedError,
  UnsupportedFeatureError,
} from '@finaegis/core';
import { Queue, type Worker } from 'bullmq';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type Harness, harness, message, requireRedis, until } from './helpers';

let h: Harness;
beforeAll(requireRedis);
beforeEach(() => {
  h = harness();
});
afterEach(async () => {
  await h.cleanup();
});

const fast = { attempts: 3, backoff: { type: 'fixed' as const, delayMs: 10 } };

/** A consumer that only registers the group (so later sends reach it), then stops. */
async function registerGroup(channel: string, group: string) {
  const t = h.transport();
  const sub = await t.consume(channel, async () => {}, { group });
  await sub.close();
}

describe('bullmq transport', () => {
  test('delivers a message with its id, type, body, headers and key intact', async () => {
    const t = h.transport();
    const received: ReceivedMessage[] = [];
    await t.consume('orders', async (m) => void received.push(m), { group: 'workers' });
    const sent = message('{"amount":"0.00010000","note":"€ ✓ 😀"}', {
      headers: { 'x-correlation-id': 'c-1', unicode: 'Grüße 🌍' },
      key: 'order-1',
    });
    await t.send('orders', sent);
    await until(() => received.length === 1, 'delivery');
    expect(received[0]).toEqual({ ...sent, channel: 'orders', group: 'workers', attempt: 1 });
  });

  test('a message sent before any group exists goes to the first group that consumes', async () => {
    const t = h.transport();
    await t.send('early', message('first'));
    expect(await t.depth('early')).toBe(1);
    const bodies: string[] = [];
    await t.consume('early', async (m) => void bodies.push(m.body), { group: 'late' });
    await until(() => bodies.length === 1, 'backlog adoption');
    expect(bodies).toEqual(['first']);
    await until(async () => (await t.depth('early')) === 0, 'empty backlog');
  });

  test('every group gets every message; consumers of one group share them', async () => {
    const t1 = h.transport();
    const t2 = h.transport();
    const seen = { a1: [] as string[], a2: [] as string[], b: [] as string[] };
    await t1.consume('fan', async (m) => void seen.a1.push(m.body), { group: 'a', concurrency: 2 });
    await t2.consume('fan', async (m) => void seen.a2.push(m.body), { group: 'a', concurrency: 2 });
    await t2.consume('fan', async (m) => void seen.b.push(m.body), { group: 'b' });
    const bodies = Array.from({ length: 40 }, (_, i) => `m${i}`);
    await Promise.all(bodies.map((b) => t1.send('fan', message(b))));
    await until(() => seen.a1.length + seen.a2.length === 40 && seen.b.length === 40, 'fan-out');
    expect([...seen.a1, ...seen.a2].sort()).toEqual([...bodies].sort());
    expect([...seen.b].sort()).toEqual([...bodies].sort());
  });

  test('sendBatch fans out like send', async () => {
    const t = h.transport();
    await registerGroup('batch', 'a');
    await registerGroup('batch', 'b');
    await t.sendBatch(
      'batch',
      Array.from({ length: 25 }, (_, i) => ({ message: message(`m${i}`) })),
    );
    expect(await t.depth('batch', { group: 'a' })).toBe(25);
    expect(await t.depth('batch', { group: 'b' })).toBe(25);
    expect(await t.depth('batch')).toBe(25);
  });

  test('a delayed message waits as a BullMQ delayed job, then is delivered', async () => {
    const t = h.transport();
    await registerGroup('later', 'g');
    await t.send('later', message('soon'), { delayMs: 400 });
    const queue = new Queue('later.g', { connection: h.client(), prefix: h.prefix });
    expect(await queue.getJobCountByTypes('delayed')).toBe(1);
    expect(await t.depth('later')).toBe(1);
    const bodies: string[] = [];
    await t.consume('later', async (m) => void bodies.push(m.body), { group: 'g' });
    await until(() => bodies.length === 1, 'delayed delivery');
    expect(bodies).toEqual(['soon']);
    await until(async () => (await queue.getJobCountByTypes('completed')) === 1, 'the ack');
    expect(await queue.getJobCountByTypes('delayed')).toBe(0);
    await queue.close();
  });

  test('a backlog handles higher priority first and 0 last', async () => {
    const t = h.transport();
    await registerGroup('prio', 'g');
    await t.send('prio', message('p0'));
    await t.send('prio', message('p1'), { priority: 1 });
    await t.send('prio', message('p9'), { priority: 9 });
    await t.send('prio', message('p5'), { priority: 5 });
    await t.send('prio', message('p0b'), { priority: 0 });
    const order: string[] = [];
    await t.consume('prio', async (m) => void order.push(m.body), { group: 'g', concurrency: 1 });
    await until(() => order.length === 5, 'all handled');
    expect(order).toEqual(['p9', 'p5', 'p1', 'p0', 'p0b']);
  });

  test('retries with the attempt number visible, then succeeds', async () => {
    const t = h.transport();
    const attempts: number[] = [];
    await t.consume(
      'flaky',
      async (m) => {
        attempts.push(m.attempt);
        if (m.attempt < 3) throw new Error('not yet');
      },
      { group: 'g', retry: fast },
    );
    await t.send('flaky', message('x'));
    await until(() => attempts.length === 3, 'three attempts');
    await until(async () => (await t.depth('flaky')) === 0, 'ack');
    expect(attempts).toEqual([1, 2, 3]);
    expect(await t.deadLetters('flaky')).toEqual([]);
  });

  test('exhausted retries dead-letter with the error; redrive gives a fresh set of attempts', async () => {
    const t = h.transport();
    const attempts: number[] = [];
    let heal = false;
    await t.consume(
      'dl',
      async (m) => {
        attempts.push(m.attempt);
        if (!heal) throw new CommandExecutionError('exchange.PlaceOrder', new Error('book locked'));
      },
      { group: 'g', retry: fast },
    );
    const sent = message('order', { key: 'k1' });
    await t.send('dl', sent);
    await until(async () => (await t.deadLetters('dl')).length === 1, 'dead letter');
    const [dead] = await t.deadLetters('dl', { group: 'g' });
    expect(dead).toMatchObject({ channel: 'dl', group: 'g', message: sent, attempts: 3 });
    expect(dead?.error.name).toBe('CommandExecutionError');
    expect(dead?.error.message).toContain('book locked');
    expect(dead?.error.stack).toContain('CommandExecutionError');
    expect(dead?.failedAt).toBeGreaterThan(0);
    expect(attempts).toEqual([1, 2, 3]);

    heal = true;
    expect(await t.redrive('dl', { ids: [dead!.id] })).toBe(1);
    await until(() => attempts.length === 4, 'redriven delivery');
    expect(attempts[3]).toBe(1);
    expect(await t.deadLetters('dl')).toEqual([]);
    expect(await t.redrive('dl')).toBe(0);
  });

  test('an error with retryable === false dead-letters at once', async () => {
    const t = h.transport();
    let calls = 0;
    await t.consume(
      'fatal',
      async () => {
        calls++;
        throw Object.assign(new Error('no funds'), { retryable: false });
      },
      { group: 'g', retry: { attempts: 5, backoff: { type: 'fixed', delayMs: 10 } } },
    );
    await t.send('fatal', message('x'));
    await until(async () => (await t.deadLetters('fatal')).length === 1, 'dead letter');
    const [dead] = await t.deadLetters('fatal');
    expect(calls).toBe(1);
    expect(dead?.attempts).toBe(1);
    expect(dead?.error).toMatchObject({ name: 'Error', message: 'no funds' });
  });

  test('a job whose data is not a transport message is dead-lettered and the worker goes on', async () => {
    const t = h.transport();
    const bodies: string[] = [];
    await t.consume('poison', async (m) => void bodies.push(m.body), { group: 'g' });
    const queue = new Queue('poison.g', { connection: h.client(), prefix: h.prefix });
    await queue.add('garbage', 'not json {');
    await queue.add('wrong-shape', { id: 1, body: null });
    await t.send('poison', message('after'));
    await until(() => bodies.length === 1, 'the good message');
    await until(async () => (await t.deadLetters('poison')).length === 2, 'two dead letters');
    const dead = await t.deadLetters('poison');
    expect(dead.map((d) => d.error.name)).toEqual(['MessageDecodeError', 'MessageDecodeError']);
    expect(dead.map((d) => d.message.type)).toEqual(['', '']);
    expect(dead.map((d) => d.message.body).sort()).toEqual(['not json {', '{"id":1,"body":null}'].sort());
    expect(dead[0]?.attempts).toBe(1);
    expect(new MessageDecodeError('x').name).toBe('MessageDecodeError');
    await queue.close();
  });

  test('a second send with the same dedupeId is dropped', async () => {
    const t = h.transport();
    await registerGroup('once', 'g');
    await t.send('once', message('a'), { dedupeId: 'order:42' });
    await t.send('once', message('b'), { dedupeId: 'order:42' });
    await t.send('once', message('c'), { dedupeId: 'order:43' });
    expect(await t.depth('once')).toBe(2);
    const bodies: string[] = [];
    await t.consume('once', async (m) => void bodies.push(m.body), { group: 'g' });
    await until(() => bodies.length === 2, 'delivery');
    await t.send('once', message('d'), { dedupeId: 'order:42' });
    await until(async () => (await t.depth('once')) === 0, 'drained');
    expect(bodies.sort()).toEqual(['a', 'c']);
  });

  test("jobs are ordinary BullMQ jobs that BullMQ's own Queue API sees", async () => {
    const t = h.transport();
    await registerGroup('plain', 'g');
    const sent = message('visible');
    await t.send('plain', sent);
    await t.send('plain', message('delayed'), { delayMs: 60_000 });
    const queue = new Queue('plain.g', { connection: h.client(), prefix: h.prefix });
    const counts = await queue.getJobCounts('prioritized', 'waiting', 'delayed', 'failed');
    expect(counts).toMatchObject({ prioritized: 1, waiting: 0, delayed: 1, failed: 0 });
    const [job] = await queue.getJobs(['prioritized']);
    expect(job?.name).toBe('test.Message');
    expect(job?.data).toEqual({ ...sent, wire: 1 });
    expect(await t.depth('plain', { group: 'g' })).toBe(2);
    await queue.close();
  });

  test('depth counts waiting, delayed and in-flight messages', async () => {
    const t = h.transport();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    await t.consume(
      'deep',
      async () => {
        started++;
        await gate;
      },
      { group: 'g', concurrency: 1 },
    );
    await t.send('deep', message('active'));
    await until(() => started === 1, 'in flight');
    await t.send('deep', message('waiting'));
    await t.send('deep', message('delayed'), { delayMs: 60_000 });
    expect(await t.depth('deep', { group: 'g' })).toBe(3);
    release();
    await until(async () => (await t.depth('deep')) === 1, 'only the delayed one left');
  });

  test('close waits for handlers in flight and acknowledges them', async () => {
    const t = h.transport();
    let finished = 0;
    let started = 0;
    const sub = await t.consume(
      'drain',
      async () => {
        started++;
        await new Promise((resolve) => setTimeout(resolve, 200));
        finished++;
      },
      { group: 'g', concurrency: 3 },
    );
    await Promise.all([1, 2, 3].map((i) => t.send('drain', message(`m${i}`))));
    await until(() => started === 3, 'three in flight');
    const closing = sub.close();
    expect(sub.close()).toBe(closing);
    await closing;
    expect(finished).toBe(3);
    const queue = new Queue('drain.g', { connection: h.client(), prefix: h.prefix });
    expect(await queue.getJobCountByTypes('completed')).toBe(3);
    expect(await queue.getJobCountByTypes('active', 'waiting', 'prioritized')).toBe(0);
    await queue.close();
  });

  test('a consumer that dies without acking loses its job to another consumer (stalled)', async () => {
    const timing = { lockDurationMs: 600, stalledIntervalMs: 300 };
    const workers: Worker[] = [];
    const dying = h.transport({ ...timing, onWorker: (w) => workers.push(w) });
    let startedOnDying = 0;
    await dying.consume(
      'crash',
      async () => {
        startedOnDying++;
        await new Promise(() => {});
      },
      { group: 'g' },
    );
    const sent = message('survivor');
    await dying.send('crash', sent);
    await until(() => startedOnDying === 1, 'first delivery');
    await Promise.all(workers.map((w) => w.close(true)));

    const survivor = h.transport(timing);
    const received: ReceivedMessage[] = [];
    await survivor.consume('crash', async (m) => void received.push(m), { group: 'g' });
    await until(() => received.length === 1, 'redelivery', 20_000);
    expect(received[0]?.id).toBe(sent.id);
  });

  test('refuses bad input with typed errors', async () => {
    const t = h.transport();
    const refused = (argument: string) =>
      expect.objectContaining({ name: 'InvalidArgumentError', adapter: '@finaegis/bullmq', argument });
    await expect(t.send('bad:channel', message('x'))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(t.send('bad:channel', message('x'))).rejects.toEqual(refused('channel'));
    await expect(t.send('', message('x'))).rejects.toEqual(refused('channel'));
    await expect(t.send('ok', { ...message('x'), body: 1 } as never)).rejects.toThrow(
      '[@finaegis/bullmq] invalid message.body: must be a string, got 1',
    );
    await expect(t.send('ok', { ...message('x'), headers: { h: 1 } } as never)).rejects.toEqual(
      refused('message.headers'),
    );
    await expect(t.send('ok', message('x'), { delayMs: Number.NaN })).rejects.toEqual(refused('delayMs'));
    await expect(t.send('ok', message('x'), { dedupeId: '' })).rejects.toEqual(refused('dedupeId'));
    await expect(t.sendBatch('ok', [{ message: { ...message('x'), id: '' } }])).rejects.toEqual(
      refused('message.id'),
    );
    // Valid for the port, beyond what BullMQ priorities can express.
    await expect(t.send('ok', message('x'), { priority: 1.5 })).rejects.toBeInstanceOf(
      UnsupportedFeatureError,
    );
    await expect(t.send('ok', message('x'), { priority: -1 })).rejects.toBeInstanceOf(
      UnsupportedFeatureError,
    );
    await expect(t.consume('ok', async () => {}, { group: 'a.b' })).rejects.toEqual(refused('group'));
    await expect(t.consume('ok', async () => {}, { group: '' })).rejects.toEqual(refused('group'));
    await expect(t.consume('ok', async () => {}, { group: 'g', concurrency: 0 })).rejects.toEqual(
      refused('concurrency'),
    );
    await expect(
      t.consume('ok', async () => {}, {
        group: 'g',
        retry: { attempts: 0, backoff: { type: 'fixed', delayMs: 1 } },
      }),
    ).rejects.toEqual(refused('retry.attempts'));
    await expect(
      t.consume('ok', async () => {}, {
        group: 'g',
        retry: { attempts: 1, backoff: { type: 'fixed', delayMs: -1 } },
      }),
    ).rejects.toEqual(refused('retry.backoff.delayMs'));
    await expect(t.consume('ok', 'nope' as never, { group: 'g' })).rejects.toEqual(refused('handler'));
    await expect(t.depth('ok', { group: 'a.b' })).rejects.toEqual(refused('group'));
    // Options of the transport itself are configuration.
    expect(() => h.transport({ lockDurationMs: 0 })).toThrow(ConfigError);
    expect(t.features.orderingByKey).toBe(false);
  });

  test('with priority: false, jobs are plain FIFO BullMQ jobs and a priority is refused', async () => {
    const t = h.transport({ priority: false });
    expect(t.features.priority).toBe(false);
    await registerGroup('fifo', 'g');
    await expect(t.send('fifo', message('x'), { priority: 3 })).rejects.toBeInstanceOf(
      UnsupportedFeatureError,
    );
    for (const body of ['a', 'b', 'c']) await t.send('fifo', message(body), { priority: 0 });
    const queue = new Queue('fifo.g', { connection: h.client(), prefix: h.prefix });
    expect(await queue.getJobCounts('waiting', 'prioritized')).toMatchObject({ waiting: 3, prioritized: 0 });
    const order: string[] = [];
    await t.consume('fifo', async (m) => void order.push(m.body), { group: 'g' });
    await until(() => order.length === 3, 'delivery');
    expect(order).toEqual(['a', 'b', 'c']);
    await queue.close();
  });

  test('never closes a connection passed in; closes its own', async () => {
    const client = h.client();
    const t = h.transport({ connection: client });
    const bodies: string[] = [];
    await t.consume('shared', async (m) => void bodies.push(m.body), { group: 'g' });
    await t.send('shared', message('x'));
    await until(() => bodies.length === 1, 'delivery');
    await t.close();
    await t.close();
    expect(await client.ping()).toBe('PONG');
    await expect(t.send('shared', message('y'))).rejects.toBeInstanceOf(TransportClosedError);
  });
});

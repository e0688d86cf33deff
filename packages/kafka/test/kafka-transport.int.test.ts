import {
  InvalidArgumentError,
  type ReceivedMessage,
  type TransportMessage,
  UnsupportedFeatureError,
} from '@finaegis/core';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createKafkaTransport, type KafkaTransport } from '../src/index';
import { BROKERS, kafka, removePrefix, requireKafka, testTransport, uniquePrefix } from './helpers';

const prefix = uniquePrefix();
const opened: KafkaTransport[] = [];
const open = (transport: KafkaTransport) => {
  opened.push(transport);
  return transport;
};

beforeAll(requireKafka);
afterEach(async () => {
  await Promise.allSettled(opened.map((t) => t.close()));
  opened.length = 0;
});
afterAll(() => removePrefix(prefix));

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const message = (id: string, key?: string) => ({
  id,
  type: 'test.Message',
  body: JSON.stringify({ id }),
  headers: { h: 'v' },
  ...(key === undefined ? {} : { key }),
});

describe('KafkaTransport', () => {
  test('refuses bad arguments with an InvalidArgumentError (bad options: options.test.ts)', async () => {
    const transport = open(testTransport(prefix));
    const refused = (argument: string) =>
      expect.objectContaining({ name: 'InvalidArgumentError', adapter: '@finaegis/kafka', argument });
    await expect(transport.consume('c', async () => {}, { group: '' })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(transport.consume('c', async () => {}, { group: '' })).rejects.toEqual(refused('group'));
    await expect(transport.consume('c', async () => {}, { group: 'g', concurrency: 0 })).rejects.toEqual(
      refused('concurrency'),
    );
    await expect(
      transport.consume('c', async () => {}, {
        group: 'g',
        retry: { attempts: 0, backoff: { type: 'fixed', delayMs: 0 } },
      }),
    ).rejects.toEqual(refused('retry.attempts'));
    await expect(transport.consume('c', 'nope' as never, { group: 'g' })).rejects.toEqual(refused('handler'));
    await expect(transport.consume('', async () => {}, { group: 'g' })).rejects.toEqual(refused('channel'));
    await expect(transport.send('', message('1'))).rejects.toEqual(refused('channel'));
    await expect(transport.send('c', { ...message('1'), body: 1 } as never)).rejects.toThrow(
      '[@finaegis/kafka] invalid message.body: must be a string, got 1',
    );
    await expect(transport.send('c', { ...message('1'), headers: { h: 2 } } as never)).rejects.toEqual(
      refused('message.headers'),
    );
    await expect(transport.send('c', message('1'), { delayMs: -1 })).rejects.toEqual(refused('delayMs'));
    await expect(transport.depth('')).rejects.toEqual(refused('channel'));
    await expect(transport.send('c', message('1'), { delayMs: 10 })).rejects.toBeInstanceOf(
      UnsupportedFeatureError,
    );
  });

  test('maps channels to prefixed topics with the configured partitions, and groups to group ids', async () => {
    const transport = open(testTransport(prefix, { partitions: 4 }));
    const channel = `layout-${Date.now().toString(36)}`;
    const got: string[] = [];
    await transport.consume(channel, async (m) => void got.push(m.id), { group: 'g1' });
    await transport.send(channel, message('a', 'k'));
    await waitUntil(() => got.length === 1, 'the message');
    expect(transport.topicName(channel)).toBe(`${prefix}${channel}`);
    expect(transport.groupId(channel, 'g1')).toBe(`${prefix}${channel}.g1`);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [transport.topicName(channel)] });
      expect(metadata.topics[0]?.partitions).toHaveLength(4);
      const dlq = await admin.fetchTopicMetadata({ topics: [`${transport.topicName(channel)}.dlq`] });
      expect(dlq.topics[0]?.partitions).toHaveLength(1);
      const groups = await admin.describeGroups([transport.groupId(channel, 'g1')]);
      expect(groups.groups[0]?.state).toBe('Stable');
    } finally {
      await admin.disconnect();
    }
  });

  test('uses a kafkajs client passed in, and leaves it usable after close', async () => {
    const client = new Kafka({ clientId: 'passed-in', brokers: BROKERS, logLevel: logLevel.NOTHING });
    const transport = open(createKafkaTransport({ kafka: client, topicPrefix: prefix, partitions: 2 }));
    const channel = `passed-${Date.now().toString(36)}`;
    const got: string[] = [];
    await transport.consume(channel, async (m) => void got.push(m.id), { group: 'g' });
    await transport.send(channel, message('x'));
    await waitUntil(() => got.length === 1, 'the message');
    await transport.close();
    const admin = client.admin();
    await admin.connect();
    expect(await admin.listTopics()).toContain(`${prefix}${channel}`);
    await admin.disconnect();
  });

  test('a message sent without headers (from plain JavaScript) arrives with empty headers', async () => {
    const transport = open(testTransport(prefix));
    const channel = `noheaders-${Date.now().toString(36)}`;
    const got: ReceivedMessage[] = [];
    await transport.consume(channel, async (m) => void got.push(m), { group: 'g' });
    const bare = { id: 'bare-1', type: 'test.Message', body: '{}', key: 'k' } as unknown as TransportMessage;
    await transport.send(channel, bare);
    await waitUntil(() => got.length === 1, 'the message');
    expect(got[0]).toMatchObject({ id: 'bare-1', type: 'test.Message', body: '{}', key: 'k', headers: {} });
    expect(await transport.deadLetters(channel)).toEqual([]);
  });

  test('what a handler changes in its message reaches neither the next attempt nor the dead letter', async () => {
    const transport = open(testTransport(prefix));
    const channel = `mutate-${Date.now().toString(36)}`;
    const seen: Record<string, string>[] = [];
    await transport.consume(
      channel,
      async (m) => {
        seen.push({ ...m.headers });
        (m.headers as Record<string, string>).h = 'changed';
        (m.headers as Record<string, string>).added = 'x';
        throw new Error('always');
      },
      { group: 'g', retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } } },
    );
    await transport.send(channel, message('m-1', 'k'));
    await waitUntil(async () => (await transport.deadLetters(channel)).length === 1, 'the dead letter');
    expect(seen).toEqual([{ h: 'v' }, { h: 'v' }]);
    const [letter] = await transport.deadLetters(channel);
    expect(letter?.message.headers).toEqual({ h: 'v' });
    expect(letter?.attempts).toBe(2);
  });

  test('a record with a null value is dead-lettered as undecodable and the consumer goes on', async () => {
    const transport = open(testTransport(prefix));
    const channel = `null-${Date.now().toString(36)}`;
    const got: string[] = [];
    await transport.consume(channel, async (m) => void got.push(m.id), { group: 'g' });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: transport.topicName(channel), messages: [{ key: 'k', value: null }] });
    await producer.disconnect();
    await transport.send(channel, message('after', 'k'));
    await waitUntil(() => got.includes('after'), 'the message after the null record');
    const letters = await transport.deadLetters(channel, { group: 'g' });
    expect(letters).toHaveLength(1);
    expect(letters[0]?.error.name).toBe('MessageDecodeError');
    expect(letters[0]?.message.body).toBe('');
  });

  test('a handler that does not return holds up its key and the later records of its partition, not other partitions', async () => {
    const transport = open(testTransport(prefix));
    const channel = `stall-${Date.now().toString(36)}`;
    const topic = transport.topicName(channel);
    // The partition a key lands on, as kafkajs' default partitioner (the transport's) picks it.
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    const partitionOf = (key: string) =>
      partitioner({ topic, partitionMetadata, message: { key, value: null } });
    const stuckPartition = partitionOf('stuck');
    let release!: () => void;
    const stuck = new Promise<void>((r) => {
      release = r;
    });
    let stuckStarted = false;
    const handled: string[] = [];
    await transport.consume(
      channel,
      async (m) => {
        if (m.key === 'stuck') {
          stuckStarted = true;
          await stuck;
        }
        handled.push(m.id);
      },
      { group: 'g', concurrency: 4 },
    );
    const keys = Array.from({ length: 30 }, (_, i) => `k-${i}`);
    try {
      await transport.send(channel, message('stuck-1', 'stuck'));
      await waitUntil(() => stuckStarted, 'the stuck handler to start');
      const elsewhere = keys.filter((key) => partitionOf(key) !== stuckPartition);
      expect(elsewhere.length).toBeGreaterThan(0);
      await Promise.all(keys.map((key) => transport.send(channel, message(`after-${key}`, key))));
      await transport.send(channel, message('stuck-2', 'stuck'));
      // Sent after the stuck record's batch was fetched: records of other partitions are handled
      // while it is stuck; its own key (and the later records of its partition) wait.
      await waitUntil(
        () => elsewhere.every((key) => handled.includes(`after-${key}`)),
        'the records of the other partitions',
      );
      expect(handled).not.toContain('stuck-1');
      expect(handled).not.toContain('stuck-2');
    } finally {
      // Also when an assertion failed: close waits for the handler in flight.
      release();
    }
    await waitUntil(() => handled.length === keys.length + 2, 'every record');
    expect(handled.indexOf('stuck-1')).toBeLessThan(handled.indexOf('stuck-2'));
  });

  test('redrive goes to the failed group only; another group does not see the message again', async () => {
    const transport = open(testTransport(prefix));
    const channel = `redrive-${Date.now().toString(36)}`;
    const healthy: string[] = [];
    const flaky: string[] = [];
    let healed = false;
    await transport.consume(channel, async (m) => void healthy.push(m.id), { group: 'healthy' });
    await transport.consume(
      channel,
      async (m) => {
        if (!healed) throw new Error('not yet');
        flaky.push(m.id);
      },
      { group: 'flaky', retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } } },
    );
    await transport.send(channel, message('m1', 'k1'));
    await waitUntil(async () => (await transport.deadLetters(channel)).length === 1, 'the dead letter');
    const [letter] = await transport.deadLetters(channel);
    expect(letter).toMatchObject({ channel, group: 'flaky', attempts: 2, error: { message: 'not yet' } });
    healed = true;
    expect(await transport.redrive(channel, { group: 'healthy' })).toBe(0);
    expect(await transport.redrive(channel, { group: 'flaky' })).toBe(1);
    await waitUntil(() => flaky.length === 1, 'the re-driven message');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(healthy).toEqual(['m1']);
    expect(await transport.deadLetters(channel)).toEqual([]);
    await waitUntil(async () => (await transport.depth(channel, { group: 'healthy' })) === 0, 'depth 0');
  });
});

// Dead letters and redrive with records other clients wrote: the record key and headers are what
// the handler sees, and a re-driven record is its record again (key, value and headers byte for
// byte), on the partition it came from, so that a key's order holds after it.
import type { ReceivedMessage, TransportMessage } from '@finaegis/core';
import { type IHeaders, type KafkaMessage, Partitioners } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { KafkaTransport } from '../src/index';
import { consoleConsume, consoleProduce, killConsoleTools, requireConsoleTools } from './console-tools';
import { kafka, removePrefix, requireKafka, testTransport, uniquePrefix } from './helpers';

const prefix = uniquePrefix();
let transport: KafkaTransport | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await requireKafka();
  await requireConsoleTools();
}, 180_000);
afterEach(async () => {
  killConsoleTools();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await transport?.close();
  transport = undefined;
});
afterAll(() => removePrefix(prefix));

async function until(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 30_000; !(await done()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class Refused extends Error {
  override name = 'Refused';
  readonly retryable = false;
}

/** Our JSON value without a `key`: the key is only the record's. */
function stepValue(id: string, body: string): string {
  const message: TransportMessage = { id, type: 'exchange.Step', body, headers: {} };
  return JSON.stringify(message);
}

describe('redrive of records other clients wrote', () => {
  test('a record keyed only by its record key keeps the key to the handler, through the dead letter and redrive, onto its partition, after which the key stays in order', {
    timeout: 90_000,
  }, async () => {
    transport = testTransport(`${prefix}order.`, { partitions: 6 });
    const topic = transport.topicName('steps');
    let refuse = true;
    const handled: ReceivedMessage[] = [];
    await transport.consume(
      'steps',
      async (message) => {
        if (refuse && message.body === '2') throw new Refused('step 2 refused');
        handled.push(message);
      },
      { group: 'ledger' },
    );
    const others: ReceivedMessage[] = [];
    await transport.consume('steps', async (m) => void others.push(m), { group: 'audit' });

    await consoleProduce(
      topic,
      ['1', '2', '3'].map((n) => ({ key: 'acct-7', value: stepValue(`m${n}`, n) })),
    );
    await until('steps 1 and 3, and 2 dead-lettered', async () => {
      return handled.length === 2 && (await transport!.deadLetters('steps')).length === 1;
    });
    const [letter] = await transport.deadLetters('steps');
    expect(letter).toMatchObject({ group: 'ledger', message: { id: 'm2', key: 'acct-7' }, attempts: 1 });
    expect(letter?.error.name).toBe('Refused');

    refuse = false;
    expect(await transport.redrive('steps')).toBe(1);
    await transport.send(
      'steps',
      { id: 'm4', type: 'exchange.Step', body: '4', headers: {} },
      { key: 'acct-7' },
    );
    await until('the re-driven step and step 4', () => handled.length === 4 && others.length === 4);

    expect(handled.map((m) => `${m.key}:${m.body}`)).toEqual([
      'acct-7:1',
      'acct-7:3',
      'acct-7:2',
      'acct-7:4',
    ]);
    const partition = handled[0]?.partition;
    expect(handled.map((m) => m.partition)).toEqual([partition, partition, partition, partition]);
    // The other group handled each step once, and skipped the copy re-driven for `ledger`.
    expect(others.map((m) => `${m.key}:${m.body}`)).toEqual(['acct-7:1', 'acct-7:2', 'acct-7:3', 'acct-7:4']);
    expect(await transport.deadLetters('steps')).toEqual([]);

    // Read by the Java console consumer: the copy is keyed, on the partition, with the promised headers.
    const records = await consoleConsume(topic, `${prefix}reader`, 5);
    expect(records.map((r) => [r.key, r.partition])).toEqual(Array(5).fill(['acct-7', partition]));
    const copy = records[3];
    expect(JSON.parse(copy?.value ?? '')).toEqual(JSON.parse(stepValue('m2', '2')));
    expect(copy?.headers).toEqual({
      'finaegis-redrive-group': 'ledger',
      'finaegis-id': 'm2',
      'finaegis-type': 'exchange.Step',
      'finaegis-wire': '1',
    });
  });

  test('a CloudEvent its producer put on a partition of its own choosing is re-driven to that partition, key, value and headers byte for byte', {
    timeout: 90_000,
  }, async () => {
    transport = testTransport(`${prefix}placed.`, { partitions: 6 });
    const topic = transport.topicName('events');
    const key = 'acct-42';
    const hashed = Partitioners.DefaultPartitioner()({
      topic,
      partitionMetadata: Array.from({ length: 6 }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        replicas: [0],
        isr: [0],
        offlineReplicas: [],
        partitionErrorCode: 0,
      })),
      message: { key, value: null },
    });
    const chosen = (hashed + 3) % 6;
    let refuse = true;
    const handled: ReceivedMessage[] = [];
    await transport.consume(
      'events',
      async (message) => {
        if (refuse) throw new Refused('not yet');
        handled.push(message);
      },
      { group: 'billing' },
    );

    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const headers: IHeaders = {
      ce_specversion: '1.0',
      ce_id: 'evt-1',
      ce_source: '/go/billing',
      ce_type: 'exchange.Charged',
      'content-type': 'application/json',
      'x-bytes': Buffer.from([0xff, 0x00, 0x7f]),
      'x-twice': ['first', 'second'],
    };
    const value = Buffer.from('{"amount":"3.10"}');
    await producer.send({ topic, messages: [{ key, value, headers, partition: chosen }] });
    await until('the dead letter', async () => (await transport!.deadLetters('events')).length === 1);
    refuse = false;
    expect(await transport.redrive('events', { group: 'billing' })).toBe(1);
    await until('the re-driven event', () => handled.length === 1);
    expect(handled[0]).toMatchObject({ id: 'evt-1', type: 'exchange.Charged', key, partition: chosen });
    expect(handled[0]?.headers).toMatchObject({ ce_source: '/go/billing', 'x-twice': 'second' });

    const raw: KafkaMessage[] = [];
    const partitions: number[] = [];
    const reader = kafka.consumer({ groupId: `${prefix}raw-reader`, maxWaitTimeInMs: 100 });
    await reader.connect();
    cleanups.push(() => reader.disconnect());
    await reader.subscribe({ topics: [topic], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ partition, message }) => {
        partitions.push(partition);
        raw.push(message);
      },
    });
    await until('both records', () => raw.length === 2);
    expect(partitions).toEqual([chosen, chosen]);
    const [original, copy] = raw as [KafkaMessage, KafkaMessage];
    expect(copy.key).toEqual(original.key);
    expect(copy.value).toEqual(value);
    const {
      'finaegis-redrive-group': group,
      'finaegis-id': id,
      'finaegis-type': type,
      ...kept
    } = copy.headers ?? {};
    expect(kept).toEqual(original.headers);
    expect([String(group), String(id), String(type)]).toEqual(['billing', 'evt-1', 'exchange.Charged']);
    expect(copy.headers?.['finaegis-wire']).toBeUndefined();
  });
});

// Records written by other Kafka clients reach our consumers, and ours are plain JSON records that
// other clients can read: the wire format is `encodeTransportMessage` in the value, the partition
// key in the key, and the message's headers, id, type and wire version as record headers.
import type { ReceivedMessage } from '@finaegis/core';
import { encodeTransportMessage } from '@finaegis/core/adapter';
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { KafkaTransport } from '../src/index';
import { kafka, removePrefix, requireKafka, testTransport, uniquePrefix } from './helpers';

const prefix = uniquePrefix();
let transport: KafkaTransport | undefined;
let producer: Producer | undefined;
let consumer: Consumer | undefined;

beforeAll(requireKafka);
afterEach(async () => {
  await transport?.close();
  await producer?.disconnect();
  await consumer?.disconnect();
  [transport, producer, consumer] = [undefined, undefined, undefined];
});
afterAll(() => removePrefix(prefix));

describe('interoperability with plain kafkajs clients', () => {
  test('a record produced by another client is handled; one we send is readable by another client', async () => {
    transport = testTransport(prefix);
    const channel = `interop-${Date.now().toString(36)}`;
    const topic = transport.topicName(channel);
    const received: ReceivedMessage[] = [];
    await transport.consume(channel, async (m) => void received.push(m), { group: 'ours' });

    producer = kafka.producer();
    await producer.connect();
    const foreign = {
      id: 'f-1',
      type: 'other.Thing',
      body: '{"ü":1}',
      headers: { origin: 'java' },
      key: 'k-1',
    };
    await producer.send({ topic, messages: [{ key: 'k-1', value: encodeTransportMessage(foreign) }] });
    for (const deadline = Date.now() + 30_000; received.length === 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ ...foreign, channel, group: 'ours', attempt: 1 });

    consumer = kafka.consumer({ groupId: `${prefix}plain`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const seen: { key: string; value: unknown; headers: Record<string, string> }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        seen.push({ key: String(message.key), value: JSON.parse(String(message.value)), headers });
      },
    });
    const ours = { id: 'o-1', type: 'exchange.OrderPlaced', body: '{"orderId":"o-1"}', headers: { a: 'b' } };
    await transport.send(channel, ours, { key: 'order-o-1' });
    for (const deadline = Date.now() + 30_000; seen.length < 2 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen.find((s) => s.key === 'order-o-1')).toEqual({
      key: 'order-o-1',
      value: ours,
      headers: {
        a: 'b',
        'finaegis-id': 'o-1',
        'finaegis-type': 'exchange.OrderPlaced',
        'finaegis-wire': '1',
      },
    });
  });
});

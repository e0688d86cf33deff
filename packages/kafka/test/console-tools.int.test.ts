// Kafka's own command-line tools (the Java ConsoleConsumer and ConsoleProducer of the broker's
// version) read the records we send and write records our consumers handle. This is the check that
// the wire format is plain Kafka, not something only kafkajs happens to agree with. The tools ship in
// org.apache.kafka:kafka-tools, which test/tools/pom.xml resolves through Maven (once; then from
// ~/.m2), since the broker's own class path under scripts/kafka/lib does not hold them.
import type { ReceivedMessage } from '@finaegis/core';
import { decodeTransportMessage, encodeTransportMessage } from '@finaegis/core/adapter';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { KafkaTransport } from '../src/index';
import { consoleConsume, consoleProduce, killConsoleTools, requireConsoleTools } from './console-tools';
import { removePrefix, requireKafka, testTransport, uniquePrefix } from './helpers';

const prefix = uniquePrefix();
let transport: KafkaTransport | undefined;

beforeAll(async () => {
  await requireKafka();
  await requireConsoleTools();
}, 180_000);
afterEach(async () => {
  killConsoleTools();
  await transport?.close();
  transport = undefined;
});
afterAll(() => removePrefix(prefix));

describe("interoperability with Kafka's own console tools", () => {
  test('kafka-console-consumer reads a message our transport sent, envelope and headers intact', {
    timeout: 60_000,
  }, async () => {
    transport = testTransport(prefix);
    const channel = `console-out-${Date.now().toString(36)}`;
    const ours = {
      id: 'o-1',
      type: 'exchange.OrderPlaced',
      body: '{"orderId":"o-1","note":"ü | €"}',
      headers: { tenant: 'ß-1', trace: 'abc' },
    };
    await transport.send(channel, ours, { key: 'order-o-1' });

    const [record, ...more] = await consoleConsume(
      transport.topicName(channel),
      `${prefix}console-consumer`,
      1,
    );
    expect(more).toEqual([]);
    expect(record?.key).toBe('order-o-1');
    expect(record?.headers).toEqual({
      'finaegis-id': 'o-1',
      'finaegis-type': 'exchange.OrderPlaced',
      'finaegis-wire': '1',
      tenant: 'ß-1',
      trace: 'abc',
    });
    expect(decodeTransportMessage(record?.value ?? '')).toEqual(ours);
  });

  test('a record kafka-console-producer wrote in our envelope is handled by our consumer', {
    timeout: 60_000,
  }, async () => {
    transport = testTransport(prefix);
    const channel = `console-in-${Date.now().toString(36)}`;
    const received: ReceivedMessage[] = [];
    await transport.consume(channel, async (m) => void received.push(m), { group: 'ours' });

    const foreign = {
      id: 'c-1',
      type: 'other.Thing',
      body: '{"amount":"12.50","note":"ü | €"}',
      headers: { origin: 'kafka-console-producer' },
      key: 'k-1',
    };
    await consoleProduce(transport.topicName(channel), [
      { key: foreign.key, value: encodeTransportMessage(foreign) },
    ]);

    for (const deadline = Date.now() + 30_000; received.length === 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ ...foreign, channel, group: 'ours', attempt: 1 });
  });
});

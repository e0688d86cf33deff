import { randomBytes } from 'node:crypto';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterEach, describe, expect, test } from 'vitest';

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',').map((b) => b.trim());

describe(`Kafka at ${brokers.join(',')}`, () => {
  const kafka = new Kafka({
    clientId: 'finaegis-scripts-test',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
  const topic = `finaegis-scripts-${randomBytes(4).toString('hex')}`;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  afterEach(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin?.disconnect();
  });

  test('delivers produced messages, in order per key, to a consumer group', async () => {
    admin = kafka.admin();
    await admin.connect().catch((error: Error) => {
      throw new Error(`Kafka is missing: no broker at KAFKA_BROKERS=${brokers.join(',')} (${error.message})`);
    });
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });

    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 2}`, value: `m${i}` }));
    await producer.send({ topic, acks: -1, messages: sent });

    consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received: { key: string; value: string }[] = [];
    await new Promise<void>((resolve) => {
      void consumer!.run({
        eachMessage: async ({ message }) => {
          received.push({ key: String(message.key), value: String(message.value) });
          if (received.length === sent.length) resolve();
        },
      });
    });

    expect(received).toHaveLength(10);
    for (const key of ['k0', 'k1']) {
      expect(received.filter((m) => m.key === key).map((m) => m.value)).toEqual(
        sent.filter((m) => m.key === key).map((m) => m.value),
      );
    }
    const groups = await admin.describeGroups([`${topic}-group`]);
    expect(groups.groups[0]?.members).toHaveLength(1);
  });
});

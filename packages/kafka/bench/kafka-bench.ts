// 50,000 events through @finaegis/kafka vs raw kafkajs on the same broker (not run by the tests):
//   KAFKA_BROKERS=127.0.0.1:9092 node --import tsx bench/kafka-bench.ts [events]
// Each side produces every event (keyed by aggregate) to a fresh 6-partition topic and consumes it
// in a fresh consumer group; the figure is events per second from the first send to the last handled.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaTransport } from '../src/index';

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');
const total = Number(process.argv[2] ?? 50_000);
const prefix = `finaegis-bench-${randomBytes(3).toString('hex')}.`;
const kafka = new Kafka({ clientId: 'finaegis-bench', brokers, logLevel: logLevel.NOTHING });
const body = JSON.stringify({ orderId: 'o-1', amount: '12.50', currency: 'USD' });

async function ours(): Promise<{ produceMs: number; totalMs: number }> {
  const transport = createKafkaTransport({ kafka, topicPrefix: prefix, partitions: 6 });
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  await transport.consume(
    'events',
    async () => {
      if (++handled === total) done();
    },
    { group: 'bench', concurrency: 16 },
  );
  const start = performance.now();
  const chunk = 5_000;
  for (let from = 0; from < total; from += chunk) {
    await Promise.all(
      Array.from({ length: Math.min(chunk, total - from) }, (_, j) =>
        transport.send('events', {
          id: `e-${from + j}`,
          type: 'bench.Event',
          body,
          headers: {},
          key: `agg-${(from + j) % 1_000}`,
        }),
      ),
    );
  }
  const produceMs = performance.now() - start;
  await finished;
  const totalMs = performance.now() - start;
  await transport.close();
  return { produceMs, totalMs };
}

async function raw(): Promise<{ produceMs: number; totalMs: number }> {
  const topic = `${prefix}raw`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `${prefix}raw.bench`, maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  let joined!: () => void;
  const ready = new Promise<void>((r) => {
    joined = r;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        JSON.parse(m.value!.toString());
        if (++handled === total) done();
      }
    },
  });
  await ready;
  const start = performance.now();
  const batch = 500;
  for (let from = 0; from < total; from += batch) {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: Math.min(batch, total - from) }, (_, j) => ({
        key: `agg-${(from + j) % 1_000}`,
        value: JSON.stringify({ id: `e-${from + j}`, type: 'bench.Event', body, headers: {} }),
      })),
    });
  }
  const produceMs = performance.now() - start;
  await finished;
  const totalMs = performance.now() - start;
  await consumer.disconnect();
  await producer.disconnect();
  await admin.disconnect();
  return { produceMs, totalMs };
}

async function cleanup(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  await admin.deleteTopics({ topics }).catch(() => {});
  const { groups } = await admin.listGroups();
  await admin
    .deleteGroups(groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix)))
    .catch(() => {});
  await admin.disconnect();
}

const rate = (ms: number) => Math.round((total / ms) * 1000).toLocaleString('en-US');
try {
  for (const [name, run] of [
    ['raw kafkajs (batches of 500, eachBatch)', raw],
    ['@finaegis/kafka (send per event, concurrency 16)', ours],
  ] as const) {
    const { produceMs, totalMs } = await run();
    console.log(
      `${name.padEnd(50)} produce ${rate(produceMs).padStart(8)} ev/s   end-to-end ${rate(totalMs).padStart(8)} ev/s   (${(totalMs / 1000).toFixed(2)} s for ${total.toLocaleString('en-US')})`,
    );
  }
} finally {
  await cleanup();
}

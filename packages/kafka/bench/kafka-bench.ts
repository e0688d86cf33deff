// 50,000 events through @finaegis/kafka vs raw kafkajs on the same broker (not run by the tests):
//   KAFKA_BROKERS=127.0.0.1:9092 node --import tsx bench/kafka-bench.ts [events] [rounds]
// Each side produces every event (keyed by aggregate) to a fresh 6-partition topic and consumes it
// in a fresh consumer group; the figure is events per second from the first send to the last handled.
//
// What keeps the comparison fair:
// - Both sides write the same records: our wire format (`encodeTransportMessage`, key included) as
//   the value, the aggregate key, and the `finaegis-id` / `finaegis-type` / `finaegis-wire` headers.
// - Both producers are idempotent with one request in flight, `acks: -1`, 500 records a request
//   (raw: `producer.send` of 500 at a time; ours: concurrent sends grouped by the transport).
// - Both consumers use `eachBatch` with `maxWaitTimeInMs: 250`, as many batches at once as there
//   are partitions, decode every record's JSON, and commit offsets after handling.
// - Both producers are connected and both consumers have joined their group before timing starts.
// - Both sides run once untimed with a tenth of the events first, so neither pays for cold JIT.
//   Then the sides alternate, raw first, for each round.
import { randomBytes } from 'node:crypto';
import { encodeTransportMessage } from '@finaegis/core/adapter';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaTransport } from '../src/index';

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');
const total = Number(process.argv[2] ?? 50_000);
const rounds = Number(process.argv[3] ?? 1);
const prefix = `finaegis-bench-${randomBytes(3).toString('hex')}.`;
const kafka = new Kafka({ clientId: 'finaegis-bench', brokers, logLevel: logLevel.NOTHING });
const body = JSON.stringify({ orderId: 'o-1', amount: '12.50', currency: 'USD' });
const PARTITIONS = 6;
const event = (n: number) => ({
  id: `e-${n}`,
  type: 'bench.Event',
  body,
  headers: {},
  key: `agg-${n % 1_000}`,
});
let run = 0;

interface Result {
  produceMs: number;
  totalMs: number;
}

async function ours(count: number): Promise<Result> {
  const transport = createKafkaTransport({
    kafka,
    topicPrefix: `${prefix}${run++}.`,
    partitions: PARTITIONS,
  });
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  await transport.consume(
    'events',
    async () => {
      if (++handled === count) done();
    },
    { group: 'bench', concurrency: 16 },
  );
  // The transport connects its producer on first use; raw connects its producer before timing.
  await transport.send('connect', event(-1));
  const start = performance.now();
  const chunk = 5_000;
  for (let from = 0; from < count; from += chunk) {
    await Promise.all(
      Array.from({ length: Math.min(chunk, count - from) }, (_, j) =>
        transport.send('events', event(from + j)),
      ),
    );
  }
  const produceMs = performance.now() - start;
  await finished;
  const totalMs = performance.now() - start;
  await transport.close();
  return { produceMs, totalMs };
}

async function raw(count: number): Promise<Result> {
  const topic = `${prefix}${run++}.raw`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `${topic}.bench`, maxWaitTimeInMs: 250 });
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
    partitionsConsumedConcurrently: PARTITIONS,
    // kafkajs resolves the batch's last offset and commits it after each batch.
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        JSON.parse(m.value!.toString());
        if (++handled === count) done();
      }
    },
  });
  await ready;
  const start = performance.now();
  const batch = 500;
  for (let from = 0; from < count; from += batch) {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: Math.min(batch, count - from) }, (_, j) => {
        const e = event(from + j);
        return {
          key: e.key,
          value: encodeTransportMessage(e),
          headers: { 'finaegis-id': e.id, 'finaegis-type': e.type, 'finaegis-wire': '1' },
        };
      }),
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

const perSecond = (ms: number) => (total / ms) * 1000;
const rate = (ms: number) => Math.round(perSecond(ms)).toLocaleString('en-US');
const line = (name: string, { produceMs, totalMs }: Result) =>
  console.log(
    `${name.padEnd(50)} produce ${rate(produceMs).padStart(8)} ev/s   end-to-end ${rate(totalMs).padStart(8)} ev/s   (${(totalMs / 1000).toFixed(2)} s for ${total.toLocaleString('en-US')})`,
  );
try {
  await raw(Math.ceil(total / 10));
  await ours(Math.ceil(total / 10));
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const a = await raw(total);
    line('raw kafkajs (batches of 500, eachBatch)', a);
    const b = await ours(total);
    line('@finaegis/kafka (send per event, concurrency 16)', b);
    ratios.push(a.totalMs / b.totalMs);
    console.log(
      `ours / raw: produce ${(a.produceMs / b.produceMs).toFixed(2)}×   end-to-end ${(a.totalMs / b.totalMs).toFixed(2)}×`,
    );
  }
  if (rounds > 1) {
    const sorted = ratios.sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(`median end-to-end ratio over ${rounds} rounds: ${median.toFixed(2)}×`);
  }
} finally {
  await cleanup();
}

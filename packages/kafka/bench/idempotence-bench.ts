// What the idempotent producer costs (not run by the tests):
//   KAFKA_BROKERS=127.0.0.1:9092 node --import tsx bench/idempotence-bench.ts [records] [rounds]
// Raw kafkajs producers write the same keyed records (about 200 bytes) with acks=all to a fresh
// 6-partition topic (replicated as the transport would: 3 copies, 2 in sync, from three brokers
// on), 500 records a request:
// - idempotent, one request in flight per broker (what the transport uses; kafkajs needs it, since
//   it moves a partition's sequence number on only after a request succeeded), one request at a
//   time, as the transport's send batcher makes them;
// - not idempotent, the same one request at a time (what idempotence itself costs);
// - not idempotent, 8 requests at once, no in-flight limit (what the one-at-a-time rule costs).
// Prints records per second, the median of the rounds, each side alternating with the others.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Message, type ProducerConfig } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');
const total = Number(process.argv[2] ?? 50_000);
const rounds = Number(process.argv[3] ?? 3);
const kafka = new Kafka({ clientId: 'finaegis-bench', brokers, logLevel: logLevel.NOTHING });
const value = JSON.stringify({ id: 'e-1', type: 'bench.Event', body: '{"orderId":"o-1","amount":"12.50"}' });
const records: Message[] = Array.from({ length: total }, (_, n) => ({ key: `agg-${n % 1_000}`, value }));

const sides: { name: string; config: ProducerConfig; concurrent: number }[] = [
  {
    name: 'idempotent, 1 in flight (the transport)',
    config: { idempotent: true, maxInFlightRequests: 1 },
    concurrent: 1,
  },
  { name: 'not idempotent, 1 at a time', config: { idempotent: false }, concurrent: 1 },
  { name: 'not idempotent, 8 at once', config: { idempotent: false }, concurrent: 8 },
];

async function once(config: ProducerConfig, concurrent: number, topic: string): Promise<number> {
  const producer = kafka.producer(config);
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: records.slice(0, 500) });
  const since = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const from = next;
      next += 500;
      await producer.send({ topic, acks: -1, messages: records.slice(from, from + 500) });
    }
  };
  await Promise.all(Array.from({ length: concurrent }, lane));
  const rate = total / ((performance.now() - since) / 1000);
  await producer.disconnect();
  return rate;
}

const admin = kafka.admin();
await admin.connect();
const count = (await admin.describeCluster()).brokers.length;
const topic = `finaegis-bench-${randomBytes(3).toString('hex')}`;
await admin.createTopics({
  waitForLeaders: true,
  topics: [
    {
      topic,
      numPartitions: 6,
      replicationFactor: Math.min(3, count),
      configEntries: count >= 3 ? [{ name: 'min.insync.replicas', value: '2' }] : [],
    },
  ],
});
const rates = sides.map(() => [] as number[]);
for (let round = 0; round < rounds; round++) {
  for (const [i, side] of sides.entries()) rates[i]!.push(await once(side.config, side.concurrent, topic));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${total} records, ${rounds} rounds, ${count} broker(s), replication ${Math.min(3, count)}:`);
const base = median(rates[0]!);
for (const [i, side] of sides.entries()) {
  const m = median(rates[i]!);
  console.log(
    `  ${side.name.padEnd(42)} ${Math.round(m).toLocaleString('en')} records/s (${(m / base).toFixed(2)}x)`,
  );
}
await admin.deleteTopics({ topics: [topic] });
await admin.disconnect();

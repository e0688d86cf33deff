// End-to-end throughput (sent → handled) of @finaegis/bullmq against raw BullMQ on the same Redis.
// Not part of the tests. Run from packages/bullmq:
//   TSX_TSCONFIG_PATH=tsconfig.json node --import tsx bench/bullmq-bench.ts
// Env: REDIS_URL, MESSAGES (default 20000), CONCURRENCY (default 50), BATCH (default 1000), ROUNDS (default 5).
// Rounds alternate which side runs first; the figures are medians, as other load on the machine skews single runs.
import { randomUUID } from 'node:crypto';
import { newId, silentLogger, type TransportMessage } from '@finaegis/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createBullmqTransport } from '../src/index';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const messages = Number(process.env.MESSAGES ?? 20_000);
const concurrency = Number(process.env.CONCURRENCY ?? 50);
const batch = Number(process.env.BATCH ?? 1_000);
const rounds = Number(process.env.ROUNDS ?? 5);
const prefix = `fa-bench-${randomUUID().slice(0, 8)}`;
// The same retention for both, so both do the same cleanup work per job.
const keepCompleted = { age: 3600, count: 10_000 };

function body(i: number): string {
  return JSON.stringify({ type: 'bench.Ping', payload: { index: i, amount: '0.00010000' } });
}

function waitFor(done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const tick = () => (done() ? resolve() : setTimeout(tick, 2));
    tick();
  });
}

async function raw(round: string, prioritised: boolean): Promise<number> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const name = `raw-${round}`;
  const queue = new Queue(name, { connection, prefix });
  let handled = 0;
  const worker = new Worker(
    name,
    async () => {
      handled++;
    },
    { connection, prefix, concurrency },
  );
  await worker.waitUntilReady();
  const start = performance.now();
  for (let from = 0; from < messages; from += batch) {
    const jobs = [];
    for (let i = from; i < Math.min(from + batch, messages); i++) {
      const data: TransportMessage = { id: newId(), type: 'bench.Ping', body: body(i), headers: {} };
      // With `prioritised`, every job gets BullMQ's lowest priority, as our default send does.
      jobs.push({
        name: 'bench.Ping',
        data,
        opts: { removeOnComplete: keepCompleted, ...(prioritised ? { priority: 2 ** 21 - 1 } : {}) },
      });
    }
    await queue.addBulk(jobs);
  }
  await waitFor(() => handled >= messages);
  const seconds = (performance.now() - start) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
  return messages / seconds;
}

async function ours(round: string, priority: boolean): Promise<number> {
  const transport = createBullmqTransport({ url, prefix, logger: silentLogger, keepCompleted, priority });
  const channel = `ours-${round}`;
  let handled = 0;
  await transport.consume(
    channel,
    async () => {
      handled++;
    },
    { group: 'workers', concurrency },
  );
  const start = performance.now();
  for (let from = 0; from < messages; from += batch) {
    const entries = [];
    for (let i = from; i < Math.min(from + batch, messages); i++) {
      entries.push({ message: { id: newId(), type: 'bench.Ping', body: body(i), headers: {} } });
    }
    await transport.sendBatch(channel, entries);
  }
  await waitFor(() => handled >= messages);
  const seconds = (performance.now() - start) / 1000;
  await transport.close();
  return messages / seconds;
}

async function cleanup(): Promise<void> {
  const client = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
  await client.quit();
}

const fmt = (rate: number) => `${Math.round(rate).toLocaleString('en-US')} msg/s`;
try {
  console.log(
    `bullmq bench: ${messages} messages end to end, concurrency ${concurrency}, batches of ${batch}, ` +
      `${rounds} rounds, Node ${process.version}, ${url}`,
  );
  await raw('warm', false);
  await ours('warm', true); // warm-up of both (JIT, Lua script loading)
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  // Two fair pairs: FIFO jobs on both sides, and prioritised jobs on both sides.
  const pairs = [
    {
      label: 'FIFO',
      rawName: 'raw BullMQ',
      ourName: '@finaegis/bullmq { priority: false }',
      prioritised: false,
    },
    {
      label: 'prioritised',
      rawName: 'raw BullMQ, priority on every job',
      ourName: '@finaegis/bullmq (default)',
      prioritised: true,
    },
  ];
  for (const pair of pairs) {
    const rawRates: number[] = [];
    const ourRates: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const id = `${pair.label}-${round}`;
      // Alternate which side runs first, so drift in the machine's load hits both.
      if (round % 2 === 0) {
        rawRates.push(await raw(id, pair.prioritised));
        ourRates.push(await ours(id, pair.prioritised));
      } else {
        ourRates.push(await ours(id, pair.prioritised));
        rawRates.push(await raw(id, pair.prioritised));
      }
      console.log(
        `  ${pair.label} round ${round + 1}: raw ${fmt(rawRates.at(-1)!)}, ours ${fmt(ourRates.at(-1)!)}, ` +
          `ratio ${(ourRates.at(-1)! / rawRates.at(-1)!).toFixed(2)}×`,
      );
    }
    const ratios = ourRates.map((rate, i) => rate / rawRates[i]!);
    console.log(
      `${pair.label}: ${pair.rawName} ${fmt(median(rawRates))}; ${pair.ourName} ${fmt(median(ourRates))}`,
    );
    console.log(
      `${pair.label}: ratio ours/raw ${median(ratios).toFixed(2)}× (median of ${rounds} paired rounds)`,
    );
  }
} finally {
  await cleanup();
}

import { transportContract } from '@finaegis/contract-tests';
import type { Transport } from '@finaegis/core';
import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BullmqTransport, createBullmqTransport } from '../src/index';
import { REDIS_URL, removePrefix, requireRedis, uniquePrefix } from './helpers';
import { OwnRedis } from './own-redis';

// One prefix for the whole suite (transports made by the harness must share a broker); every
// contract test uses its own channel and groups inside it.
const prefix = uniquePrefix();
const workers = new WeakMap<Transport, Worker[]>();
const made: BullmqTransport[] = [];

beforeAll(requireRedis);
afterAll(async () => {
  await Promise.allSettled(made.map((t) => t.close()));
  await removePrefix(prefix);
});

const features = {
  delay: true,
  priority: true,
  orderingByKey: false,
  consumerGroups: true,
  deadLetter: true,
  dedupe: true,
  persistent: true,
  depth: true,
};

transportContract(
  { describe, test, expect },
  {
    name: 'bullmq',
    features,
    async create() {
      const started: Worker[] = [];
      const transport = createBullmqTransport({
        url: REDIS_URL,
        prefix,
        // Short locks, so that the crash test's redelivery comes within seconds.
        lockDurationMs: 1_000,
        stalledIntervalMs: 500,
        onWorker: (worker) => started.push(worker),
      });
      workers.set(transport, started);
      made.push(transport);
      return transport;
    },
    async sendRaw(channel, raw) {
      // A foreign producer: raw text as the data of a plain BullMQ job in every group's queue.
      const client = new Redis(REDIS_URL);
      try {
        const groups = await client.smembers(`${prefix}:${channel}.~groups`);
        for (const group of groups) {
          const queue = new Queue(`${channel}.${group}`, { connection: client, prefix });
          await queue.add('raw', raw);
          await queue.close();
        }
        expect(groups.length).toBeGreaterThan(0);
      } finally {
        await client.quit();
      }
    },
    async crash(transport) {
      // A forced close stops the workers without finishing or acking their jobs and without
      // renewing their locks: the jobs stall and another worker's stalled check hands them out.
      await Promise.all((workers.get(transport) ?? []).map((worker) => worker.close(true)));
    },
  },
);

// The reconnect group restarts Redis, so it gets a redis-server of its own (with an append-only
// file, so that what was accepted survives), never the shared one.
let ownRedis: OwnRedis | undefined;
const onOwnRedis: BullmqTransport[] = [];
afterAll(async () => {
  await Promise.allSettled(onOwnRedis.map((t) => t.close()));
  await ownRedis?.destroy();
});

transportContract.reconnect(
  { describe, test, expect },
  {
    name: 'bullmq (own redis-server)',
    features,
    async create() {
      ownRedis ??= await OwnRedis.start();
      const transport = createBullmqTransport({ url: ownRedis.url, prefix });
      onOwnRedis.push(transport);
      return transport;
    },
    restartBroker: async () => ownRedis?.restart(),
  },
);

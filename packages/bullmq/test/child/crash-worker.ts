// A worker process that takes jobs and never finishes them, to be killed with SIGKILL mid-flight.
// Env: REDIS_URL, PREFIX, CHANNEL, STARTED (set key), CONCURRENCY, LOCK_MS, STALLED_MS.
import { silentLogger } from '@finaegis/core';
import { Redis } from 'ioredis';
import { createBullmqTransport } from '../../src/index';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(url);
const transport = createBullmqTransport({
  url,
  prefix: process.env.PREFIX ?? 'finaegis',
  logger: silentLogger,
  lockDurationMs: Number(process.env.LOCK_MS ?? 2000),
  stalledIntervalMs: Number(process.env.STALLED_MS ?? 1000),
});
await transport.consume(
  process.env.CHANNEL ?? 'jobs',
  async (message) => {
    await redis.sadd(process.env.STARTED ?? 'started', message.id);
    await new Promise(() => {});
  },
  { group: 'workers', concurrency: Number(process.env.CONCURRENCY ?? 1000) },
);
process.stdout.write('ready\n');

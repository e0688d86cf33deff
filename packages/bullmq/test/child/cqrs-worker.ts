// A worker process: the buses of @finaegis/core on the BullMQ transport, consuming both async
// channels. Run with `node --import tsx`; env: REDIS_URL, PREFIX, MARKS (hash key).
import { createCqrs, silentLogger } from '@finaegis/core';
import { Redis } from 'ioredis';
import { createBullmqTransport } from '../../src/index';
import { Marked, MarkHandled } from './messages';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const marks = process.env.MARKS ?? 'marks';
const redis = new Redis(url);
const transport = createBullmqTransport({
  url,
  prefix: process.env.PREFIX ?? 'finaegis',
  logger: silentLogger,
});
const app = createCqrs({ transport, logger: silentLogger });
app.registry.register(MarkHandled, Marked);
app.commandBus.register(MarkHandled, async (command: MarkHandled) => {
  await redis.hset(marks, `command:${command.tag}`, String(process.pid));
});
app.eventBus.subscribe(Marked, async (event: Marked) => {
  await redis.hset(marks, `event:${event.tag}`, String(process.pid));
});
await app.startWorker({ group: 'workers', concurrency: 4 });
process.stdout.write('ready\n');

process.on('SIGTERM', async () => {
  await app.close();
  await redis.quit();
  process.exit(0);
});

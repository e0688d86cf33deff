// Getting started, step two: the same exchange on BullMQ + Redis. Compiled by the docs build, not
// run there (it needs Redis). Run it yourself with `REDIS_URL=redis://... npx tsx bullmq-redis.ts`.
// #region app
import { randomUUID } from 'node:crypto';
import { createBullmqTransport } from '@finaegis/bullmq';
import { configFromEnv, createCqrs } from '@finaegis/core';
import { createKeyvCacheStore } from '@finaegis/keyv';
import { createMemoryTransactionManager } from '@finaegis/memory';
import { GetOrderBookQuery, nextEvent, OrderPlaced, PlaceOrderCommand, registerExchange } from '../exchange';

// REDIS_URL, DOMAIN_LOG_LEVEL, ... from the environment; createCqrs() itself reads none.
const config = configFromEnv();
const app = createCqrs({
  config,
  transport: createBullmqTransport({ url: config.redisUrl, prefix: 'getting-started' }),
  cache: createKeyvCacheStore({ redisUrl: config.redisUrl }), // shared by every process
  transactionManager: createMemoryTransactionManager(),
});
registerExchange(app);
// #endregion app

// #region roles
// A worker process: any number of them, on any machine that reaches the Redis.
if (process.argv.includes('--worker')) {
  await app.startWorker({
    group: 'workers',
    concurrency: 4,
    retry: { attempts: 5, backoff: { type: 'exponential', delayMs: 200, maxDelayMs: 10_000 } },
  });
} else {
  // An API process (here with a worker of its own, so that the example runs alone).
  await app.startWorker();
  const handled = nextEvent(app, OrderPlaced);
  const requestId = randomUUID(); // e.g. the client's Idempotency-Key
  await app.commandBus.dispatchAsync(new PlaceOrderCommand('u-1', 'BTC/USD', '0.10'), {
    delay: 0.5, // seconds, as in the guide; BullMQ delays jobs
    dedupeId: requestId, // a retried request with the same id is dropped
  });
  console.log(`a worker placed ${(await handled).orderId}`);
  console.log(await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'), { ttl: 5 }));
  await app.close();
}
// #endregion roles

// Getting started, step two: the same exchange on BullMQ + Redis, built from the environment.
// Compiled by the docs build, not run there (it needs Redis). Run it yourself with
// `REDIS_URL=redis://... npx tsx bullmq-redis.ts` (add `--worker` for a worker process).
// #region app
import { randomUUID } from 'node:crypto';
import { composeCqrs, configFromEnv, shutdownOnSignals } from '@finaegis/core';
import { GetOrderBookQuery, nextEvent, OrderPlaced, PlaceOrderCommand, registerExchange } from '../exchange';

// The environment picks the adapters: QUEUE_CONNECTION, CACHE_DRIVER, REDIS_URL, BULLMQ_PREFIX,
// DOMAIN_LOG_LEVEL, ... The second argument holds this example's defaults; a variable that is set
// wins over them.
const config = configFromEnv(process.env, {
  queueConnection: 'bullmq', // @finaegis/bullmq's driver builds the transport
  cacheDriver: 'redis', // @finaegis/keyv's driver builds a cache shared by every process
  adapters: { bullmq: { prefix: 'getting-started' }, cache: { keyPrefix: 'getting-started:' } },
});
const app = await composeCqrs({ config });
registerExchange(app); // exchange.ts, unchanged
// #endregion app

// #region roles
if (process.argv.includes('--worker')) {
  // A worker process: any number of them, on any machine that reaches the Redis.
  await app.startWorker({
    group: 'workers',
    concurrency: 4,
    retry: { attempts: 5, backoff: { type: 'exponential', delayMs: 200, maxDelayMs: 10_000 } },
  });
  // SIGTERM or SIGINT: stop taking jobs, finish the ones in flight, close, exit.
  shutdownOnSignals(app);
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
  const health = await app.health(); // Redis answering, each BullMQ worker running
  console.log(
    `ready: ${health.ready}, ${health.components.map((c) => `${c.adapter} ${c.status}`).join(', ')}`,
  );
  await app.shutdown({ reason: 'example done' });
}
// #endregion roles

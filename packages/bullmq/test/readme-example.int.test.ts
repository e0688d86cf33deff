// The README's example, run against the real Redis (under its own key prefix).
import { createBullmqTransport } from '@finaegis/bullmq';
import { Command, createCqrs, silentLogger } from '@finaegis/core';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { removePrefix, requireRedis, uniquePrefix, until } from './helpers';

const prefix = uniquePrefix();
beforeAll(requireRedis);
afterEach(() => removePrefix(prefix));

test('the README example runs', async () => {
  const placed: string[] = [];

  // --- README example (prefix and logger differ) ---
  class PlaceOrder extends Command<void> {
    static readonly messageType = 'exchange.PlaceOrder';
    constructor(
      readonly pair: string,
      readonly amount: string,
    ) {
      super();
    }
  }

  const transport = createBullmqTransport({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix });
  const app = createCqrs({ transport, logger: silentLogger });
  app.registry.register(PlaceOrder);
  app.commandBus.register(PlaceOrder, async (order: PlaceOrder) => {
    placed.push(`${order.pair} ${order.amount}`);
  });

  // In a worker process (any number of them, on any machine sharing the Redis):
  await app.startWorker({
    group: 'workers',
    concurrency: 4,
    retry: { attempts: 5, backoff: { type: 'exponential', delayMs: 200, maxDelayMs: 10_000 } },
  });
  // In an API process:
  await app.commandBus.dispatchAsync(new PlaceOrder('BTC/USD', '0.5'), { delay: 0.2, dedupeId: 'order-42' });
  await app.commandBus.dispatchAsync(new PlaceOrder('BTC/USD', '0.5'), { dedupeId: 'order-42' }); // dropped
  // --- end of example ---

  expect(await transport.depth('commands')).toBe(1);
  await until(() => placed.length === 1, 'the order');
  await until(async () => (await transport.depth('commands')) === 0, 'the ack');
  expect(placed).toEqual(['BTC/USD 0.5']);
  expect(await transport.deadLetters('commands')).toEqual([]);
  await app.close();
});

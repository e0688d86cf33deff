import type { CacheStore, SendOptions, Transport, TransportMessage } from '@finaegis/core';
import {
  createMemoryCacheStore,
  createMemoryEventStore,
  createMemoryTransactionManager,
  createMemoryTransport,
} from '@finaegis/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { OrderPlaced } from '../src/domain/messages';
import type { OrderBookView, OrderView } from '../src/domain/views';
import { alice, bob, eventually, type Harness, startHarness } from './helpers';

/** A cache whose reads and writes work but whose invalidation always fails (Redis gone mid-way). */
class InvalidationFailingCache implements CacheStore {
  readonly name = 'invalidation-failing';
  readonly #inner = createMemoryCacheStore();
  invalidations = 0;

  get(namespace: string, key: string) {
    return this.#inner.get(namespace, key);
  }
  set(namespace: string, key: string, value: unknown, ttlSeconds: number) {
    return this.#inner.set(namespace, key, value, ttlSeconds);
  }
  async delete(): Promise<boolean> {
    this.invalidations += 1;
    throw new Error('cache unavailable (delete)');
  }
  async clear(): Promise<void> {
    this.invalidations += 1;
    throw new Error('cache unavailable (clear)');
  }
  close() {
    return this.#inner.close();
  }
}

/** The memory transport, except that the next `failures` sends fail (a broker that blinked). */
class BlinkingTransport implements Transport {
  readonly #inner = createMemoryTransport();
  readonly name = 'blinking';
  readonly features = this.#inner.features;
  failures = 0;

  async send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('broker unavailable');
    }
    return this.#inner.send(channel, message, options);
  }
  consume(...args: Parameters<Transport['consume']>) {
    return this.#inner.consume(...args);
  }
  deadLetters(...args: Parameters<Transport['deadLetters']>) {
    return this.#inner.deadLetters(...args);
  }
  redrive(...args: Parameters<Transport['redrive']>) {
    return this.#inner.redrive(...args);
  }
  depth(...args: Parameters<Transport['depth']>) {
    return this.#inner.depth(...args);
  }
  close() {
    return this.#inner.close();
  }
}

let h: Harness;

afterEach(async () => {
  await h.close();
});

const post = (url: string, payload: Record<string, unknown>, headers = alice) =>
  h.server.inject({ method: 'POST', url, headers, payload });
const book = async () => (await h.server.inject({ url: '/orderbook/BTC/USD?depth=5' })).json<OrderBookView>();

describe('a change that was stored is answered as a success', () => {
  it('answers 201 when clearing the order book cache fails, and the book still shows the order', async () => {
    const cache = new InvalidationFailingCache();
    h = await startHarness(
      {},
      {
        transport: createMemoryTransport(),
        cache,
        eventStore: createMemoryEventStore(),
        transactionManager: createMemoryTransactionManager(),
      },
    );
    expect((await book()).asks).toEqual([]); // now cached

    const response = await post('/orders', {
      pair: 'BTC/USD',
      side: 'sell',
      type: 'limit',
      amount: '1',
      price: '31000',
    });
    expect(response.statusCode).toBe(201);
    const placed = response.json<OrderView>();
    expect(cache.invalidations).toBeGreaterThan(0);
    const fetched = await h.server.inject({ url: `/orders/${placed.orderId}`, headers: alice });
    expect(fetched.json()).toMatchObject({ orderId: placed.orderId, status: 'open' });
    // The cached (empty) book was not cleared, yet the page sees the new ask.
    expect((await book()).asks).toEqual([{ price: '31000', amount: '1', orders: 1 }]);

    const cancelled = await h.server.inject({
      method: 'DELETE',
      url: `/orders/${placed.orderId}`,
      headers: alice,
    });
    expect(cancelled.statusCode).toBe(200);
    expect((await book()).asks).toEqual([]);

    const async = await post('/orders?async=1', {
      pair: 'BTC/USD',
      side: 'buy',
      type: 'limit',
      amount: '1',
      price: '29000',
    });
    expect(async.statusCode).toBe(202);
    await eventually(async () => ((await book()).bids.length === 1 ? true : undefined));
    const health = (await h.server.inject({ url: '/health' })).json();
    expect(health.cacheStats.invalidationFailures).toBeGreaterThanOrEqual(3);
    expect(health.stats.afterCommitFailures).toBe(0);
  });

  it('answers 201 and 202 when an OrderPlaced subscriber throws, and places each order once', async () => {
    h = await startHarness();
    h.app.cqrs.eventBus.subscribe(
      OrderPlaced,
      () => {
        throw new Error('subscriber broke');
      },
      { name: 'broken subscriber' },
    );

    const sync = await post('/orders', {
      pair: 'BTC/USD',
      side: 'buy',
      type: 'limit',
      amount: '1',
      price: '100',
    });
    expect(sync.statusCode).toBe(201);
    const placed = sync.json<OrderView>();
    expect(
      (await h.server.inject({ url: `/orders/${placed.orderId}`, headers: alice })).json(),
    ).toMatchObject({
      status: 'open',
    });

    const async = await post(
      '/orders?async=1',
      { pair: 'BTC/USD', side: 'sell', type: 'limit', amount: '2', price: '40000' },
      bob,
    );
    expect(async.statusCode).toBe(202);
    const { orderId } = async.json();
    const order = await eventually(async () => {
      const r = await h.server.inject({ url: `/orders/${orderId}`, headers: bob });
      return r.statusCode === 200 ? r.json<OrderView>() : undefined;
    });
    expect(order.status).toBe('open');

    const stored = await h.app.adapters.eventStore.readStream(h.app.config.stream);
    expect(stored.filter((e) => e.type === 'exchange.OrderPlaced')).toHaveLength(2);
    // The worker acknowledged the message: the failure is counted once, not retried into a loop.
    await eventually(async () => (h.app.stats.afterCommitFailures === 2 ? true : undefined));
    expect((await h.server.inject({ url: '/health' })).json().stats.afterCommitFailures).toBe(2);
  });

  it('answers 202 when the send after storing an Idempotency-Key fails; a retry with the key sends it', async () => {
    const transport = new BlinkingTransport();
    h = await startHarness(
      {},
      {
        transport,
        cache: createMemoryCacheStore(),
        eventStore: createMemoryEventStore(),
        transactionManager: createMemoryTransactionManager(),
      },
    );
    const request = () =>
      h.server.inject({
        method: 'POST',
        url: '/orders?async=1',
        headers: { ...alice, 'idempotency-key': 'blink-1' },
        payload: { pair: 'ETH/USD', side: 'buy', type: 'limit', amount: '1', price: '1500' },
      });
    transport.failures = 1;
    const first = await request();
    expect(first.statusCode).toBe(202);
    expect(h.app.stats.afterCommitFailures).toBe(1);
    const { orderId } = first.json();
    expect((await h.server.inject({ url: `/orders/${orderId}`, headers: alice })).statusCode).toBe(404);

    const retry = await request();
    expect(retry.statusCode).toBe(202);
    expect(retry.body).toBe(first.body);
    const order = await eventually(async () => {
      const r = await h.server.inject({ url: `/orders/${orderId}`, headers: alice });
      return r.statusCode === 200 ? r.json<OrderView>() : undefined;
    });
    expect(order).toMatchObject({ orderId, status: 'open' });
  });
});

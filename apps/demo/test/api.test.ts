import { ConfigError, type DomainEvent } from '@finaegis/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoConfigFromEnv } from '../src/config/domain';
import { OrderMatched, OrderPlaced } from '../src/domain/messages';
import type { OrderBookView, OrderView } from '../src/domain/views';
import { alice, bob, eventually, type Harness, startHarness } from './helpers';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});

afterEach(async () => {
  await h.close();
});

const order = (body: Record<string, unknown>, headers: Record<string, string> = alice) =>
  h.server.inject({ method: 'POST', url: '/orders', headers, payload: body });

describe('orders over HTTP', () => {
  it('places a limit order synchronously and returns it', async () => {
    const response = await order({
      pair: 'BTC/USD',
      side: 'buy',
      type: 'limit',
      amount: '0.5',
      price: '30000',
    });
    expect(response.statusCode).toBe(201);
    const placed = response.json<OrderView>();
    expect(placed).toMatchObject({ accountId: 'acct-alice', status: 'open', amount: '0.5', price: '30000' });
    expect(response.headers.location).toBe(`/orders/${placed.orderId}`);
    const fetched = await h.server.inject({ url: `/orders/${placed.orderId}`, headers: alice });
    expect(fetched.json()).toEqual(placed);
    const balances = await h.server.inject({ url: '/balances', headers: alice });
    expect(balances.json().balances.USD).toEqual({ available: '985000', locked: '15000' });
  });

  it('matches crossing orders: the trade shows in the book and the balances', async () => {
    await order({ pair: 'BTC/USD', side: 'sell', type: 'limit', amount: '1', price: '30000' }, bob);
    const before = await h.server.inject({ url: '/orderbook/BTC/USD?depth=5' });
    expect(before.json<OrderBookView>().asks).toEqual([{ price: '30000', amount: '1', orders: 1 }]);
    const hits = h.app.cqrs.queryBus.cacheStats().hits;
    await h.server.inject({ url: '/orderbook/BTC/USD?depth=5' });
    expect(h.app.cqrs.queryBus.cacheStats().hits).toBe(hits + 1);
    const taker = await order({ pair: 'BTC/USD', side: 'buy', type: 'market', amount: '0.25' });
    expect(taker.json()).toMatchObject({ status: 'filled', filled: '0.25' });
    // The same (cached) query: the trade's events invalidated it.
    const book = (await h.server.inject({ url: '/orderbook/btc/usd?depth=5' })).json<OrderBookView>();
    expect(book.asks).toEqual([{ price: '30000', amount: '0.75', orders: 1 }]);
    expect(book.lastPrice).toBe('30000');
    expect(book.recentTrades[0]).toMatchObject({ price: '30000', quantity: '0.25', takerSide: 'buy' });
    const bobBalances = (await h.server.inject({ url: '/balances', headers: bob })).json().balances;
    expect(bobBalances.USD.available).toBe('1007492.5'); // 7500 less the 0.1 % maker fee
    expect(bobBalances.BTC).toEqual({ available: '49', locked: '0.75' });
  });

  it('accepts an order asynchronously (202 + message id) and a worker places it', async () => {
    const response = await h.server.inject({
      method: 'POST',
      url: '/orders?async=1',
      headers: alice,
      payload: { pair: 'ETH/USD', side: 'buy', type: 'limit', amount: '2', price: '2000' },
    });
    expect(response.statusCode).toBe(202);
    const { messageId, orderId, status } = response.json();
    expect(messageId).toMatch(/^[0-9A-Z]{26}$/);
    expect(status).toBe('pending');
    const placed = await eventually(async () => {
      const r = await h.server.inject({ url: `/orders/${orderId}`, headers: alice });
      return r.statusCode === 200 ? r.json<OrderView>() : undefined;
    });
    expect(placed).toMatchObject({ orderId, status: 'open', pair: 'ETH/USD' });
    const viaPath = await h.server.inject({
      method: 'POST',
      url: '/orders/async',
      headers: alice,
      payload: { pair: 'ETH/USD', side: 'buy', type: 'limit', amount: '1', price: '1999' },
    });
    expect(viaPath.statusCode).toBe(202);
  });

  it('cancels an open order, and refuses to cancel it twice', async () => {
    const placed = (
      await order({ pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '1', price: '100' })
    ).json();
    const cancelled = await h.server.inject({
      method: 'DELETE',
      url: `/orders/${placed.orderId}`,
      headers: alice,
    });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    const again = await h.server.inject({
      method: 'DELETE',
      url: `/orders/${placed.orderId}`,
      headers: alice,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toContain('is cancelled and cannot be cancelled');
  });

  it('takes deposits', async () => {
    const response = await h.server.inject({
      method: 'POST',
      url: '/deposits',
      headers: bob,
      payload: { asset: 'ETH', amount: '1.25' },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json().balances.ETH.available).toBe('501.25');
  });

  it('carries X-Correlation-ID onto the events', async () => {
    const seen: DomainEvent[] = [];
    h.app.cqrs.eventBus.subscribe(OrderPlaced, (e) => void seen.push(e));
    h.app.cqrs.eventBus.subscribe(OrderMatched, (e) => void seen.push(e));
    await order(
      { pair: 'BTC/USD', side: 'sell', type: 'limit', amount: '1', price: '30000' },
      {
        ...bob,
        'x-correlation-id': 'corr-sell-1',
      },
    );
    const response = await order(
      { pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '1', price: '30000' },
      {
        ...alice,
        'x-correlation-id': 'corr-buy-2',
      },
    );
    expect(response.headers['x-correlation-id']).toBe('corr-buy-2');
    expect(seen.map((e) => [e.constructor.name, e.correlationId])).toEqual([
      ['OrderPlaced', 'corr-sell-1'],
      ['OrderPlaced', 'corr-buy-2'],
      ['OrderMatched', 'corr-buy-2'],
    ]);
    const stored = await h.app.adapters.eventStore.readStream(h.app.config.stream);
    expect(stored.filter((e) => e.metadata.correlationId === 'corr-buy-2').map((e) => e.type)).toEqual([
      'exchange.OrderPlaced',
      'exchange.OrderMatched',
      'exchange.OrderRemovedFromBook',
    ]);
    const generated = await h.server.inject({ url: '/health' });
    expect(generated.headers['x-correlation-id']).toMatch(/^[0-9A-Z]{26}$/);
  });
});

describe('HTTP errors', () => {
  it('answers 401 without a valid bearer token, whatever the body says', async () => {
    const none = await order(
      { pair: 'BTC/USD', side: 'buy', amount: '1', price: '1', accountId: 'acct-alice' },
      {},
    );
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const wrong = await order(
      { pair: 'BTC/USD', side: 'buy', amount: '1', price: '1' },
      { authorization: 'Bearer nope' },
    );
    expect(wrong.statusCode).toBe(401);
    expect((await h.server.inject({ url: '/balances' })).statusCode).toBe(401);
    expect((await h.server.inject({ method: 'DELETE', url: '/orders/x' })).statusCode).toBe(401);
  });

  it('answers 422 with the failing fields', async () => {
    const response = await order({ pair: 'XRP/USD', side: 'up', type: 'limit', amount: 0.5 });
    expect(response.statusCode).toBe(422);
    expect(response.json().fields).toEqual({
      pair: ['must be one of BTC/USD, ETH/USD'],
      side: ['must be buy or sell'],
      amount: ['must be a decimal string such as "0.5"'],
      price: ['is required for a limit order'],
    });
    const small = await order({ pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '0.00001', price: '1' });
    expect(small.json().fields).toEqual({ amount: ['must be at least 0.0001 BTC'] });
    const broke = await order({ pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '100', price: '30000' });
    expect(broke.statusCode).toBe(422);
    expect(broke.json().fields.amount[0]).toContain('insufficient USD balance');
    expect(broke.json().order.status).toBe('rejected');
    const notObject = await h.server.inject({
      method: 'POST',
      url: '/orders',
      headers: alice,
      payload: [1, 2],
    });
    expect(notObject.statusCode).toBe(422);
    const asyncInvalid = await h.server.inject({
      method: 'POST',
      url: '/orders?async=1',
      headers: alice,
      payload: { pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '1' },
    });
    expect(asyncInvalid.statusCode).toBe(422);
    const badDepth = await h.server.inject({ url: '/orderbook/BTC/USD?depth=0' });
    expect(badDepth.statusCode).toBe(422);
  });

  it('answers 404 for unknown orders, other accounts orders and unknown pairs', async () => {
    const placed = (
      await order({ pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '1', price: '100' })
    ).json();
    expect((await h.server.inject({ url: '/orders/nope', headers: alice })).statusCode).toBe(404);
    expect((await h.server.inject({ url: `/orders/${placed.orderId}`, headers: bob })).statusCode).toBe(404);
    expect(
      (await h.server.inject({ method: 'DELETE', url: `/orders/${placed.orderId}`, headers: bob }))
        .statusCode,
    ).toBe(404);
    expect((await h.server.inject({ url: '/orderbook/DOGE/USD' })).statusCode).toBe(404);
  });

  it('answers 400 for malformed JSON and 413 for a body over 16 KiB', async () => {
    const malformed = await h.server.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...alice, 'content-type': 'application/json' },
      payload: '{"pair": "BTC/USD", ',
    });
    expect(malformed.statusCode).toBe(400);
    const poisoned = await h.server.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...alice, 'content-type': 'application/json' },
      payload: '{"__proto__": {"admin": true}}',
    });
    expect(poisoned.statusCode).toBe(400);
    const huge = await h.server.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...alice, 'content-type': 'application/json' },
      payload: JSON.stringify({ pair: 'BTC/USD', padding: 'x'.repeat(17 * 1024) }),
    });
    expect(huge.statusCode).toBe(413);
  });
});

describe('composition', () => {
  it('runs the OrderPlaced subscribers in priority order', () => {
    expect(h.app.cqrs.eventBus.getSubscribers(OrderPlaced)).toEqual([
      { name: 'count placed orders', priority: 5 },
      { name: 'log placed orders', priority: 1 },
    ]);
    expect(h.app.cqrs.eventBus.getSubscribers(OrderMatched)[0]).toEqual({
      name: 'invalidate order book cache',
      priority: 10,
    });
  });

  it('in demo mode (DOMAIN_ENABLE_HANDLERS=false) answers 503 saying handlers are disabled', async () => {
    const demo = await startHarness({ DOMAIN_ENABLE_HANDLERS: 'false' });
    try {
      const response = await demo.server.inject({
        method: 'POST',
        url: '/orders',
        headers: alice,
        payload: { pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '1', price: '1' },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json().error).toMatch(/handler/i);
      const keyed = await demo.server.inject({
        method: 'POST',
        url: '/orders?async=1',
        headers: { ...alice, 'idempotency-key': 'demo-mode' },
        payload: { pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '1', price: '1' },
      });
      expect(keyed.statusCode).toBe(503);
      expect(await demo.app.adapters.eventStore.readStream(demo.app.config.stream)).toEqual([]);
    } finally {
      await demo.close();
    }
  });
});

describe('configuration', () => {
  it('names the variable of a bad value', () => {
    expect(() => demoConfigFromEnv({ QUEUE_CONNECTION: 'rabbitmq' })).toThrow(ConfigError);
    expect(() => demoConfigFromEnv({ QUEUE_CONNECTION: 'rabbitmq' })).toThrow(
      /QUEUE_CONNECTION="rabbitmq".*memory, bullmq, kafka/,
    );
    expect(() => demoConfigFromEnv({ PORT: 'eighty' })).toThrow(/PORT="eighty"/);
    expect(demoConfigFromEnv({}).domain.queueConnection).toBe('memory');
  });
});

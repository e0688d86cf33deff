// The demo's handlers and subscribers as composed by createExchangeApp, on the test kit's memory
// adapters: async orders handled by the worker, the order book cache and its TTL, a delayed order,
// without polling or sleeping (idle() and a clock moved by hand).
import { silentLogger } from '@finaegis/core';
import { createTestAdapters, type TestAdapters } from '@finaegis/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExchangeApp, type ExchangeApp } from '../src/app';
import { demoConfigFromEnv } from '../src/config/domain';
import {
  GetOrderBookQuery,
  OrderAddedToBook,
  OrderMatched,
  OrderPlaced,
  PlaceOrderCommand,
} from '../src/domain/messages';
import './matchers';

let kit: TestAdapters;
let app: ExchangeApp;

beforeEach(async () => {
  kit = createTestAdapters();
  app = await createExchangeApp(demoConfigFromEnv({ ORDER_BOOK_TTL: '60' }), {
    logger: silentLogger,
    adapters: kit.adapters,
    middleware: [kit.middleware],
  });
  await app.seed();
  await app.cqrs.startWorker({ group: 'exchange-workers', concurrency: 2 });
});

afterEach(async () => {
  kit.detach();
  await app.close();
});

const limit = (id: string, accountId: string, side: 'buy' | 'sell', price: string) =>
  new PlaceOrderCommand(id, accountId, 'BTC/USD', side, 'limit', '1', price);
const book = () => app.orderBook(new GetOrderBookQuery('BTC/USD', 5));

describe('the exchange handlers', () => {
  it('places async orders on the worker, matches them, and clears the cached order book', async () => {
    expect((await book()).asks).toEqual([]);
    expect(kit).toHaveCached(GetOrderBookQuery, { pair: 'BTC/USD' });

    await app.dispatchAsync(limit('sell-1', 'acct-bob', 'sell', '30000'));
    await app.dispatchAsync(limit('buy-1', 'acct-alice', 'buy', '30000'));
    await kit.idle();

    expect(kit).toHaveDispatched(PlaceOrderCommand, {}, { async: true, times: 2 });
    expect(kit).toHavePublished(OrderAddedToBook, { orderId: 'sell-1' });
    expect(kit).toHavePublished(OrderMatched, {
      makerOrderId: 'sell-1',
      takerOrderId: 'buy-1',
      price: '30000',
    });
    expect(kit).not.toHaveCached(GetOrderBookQuery, { pair: 'BTC/USD' });
    expect(await book()).toMatchObject({ asks: [], bids: [], lastPrice: '30000' });
    expect(app.stats).toMatchObject({ ordersPlaced: 2, trades: 1, afterCommitFailures: 0 });
  });

  it('keeps the order book cached for ORDER_BOOK_TTL seconds on the clock', async () => {
    await book();
    await kit.advance(59_999);
    expect(kit).toHaveCached(GetOrderBookQuery, { pair: 'BTC/USD' }, { value: { asks: [] } });
    await kit.advance(1);
    expect(kit).not.toHaveCached(GetOrderBookQuery, { pair: 'BTC/USD' });
  });

  it('places a delayed order when its time comes, not before', async () => {
    await app.dispatchAsync(limit('later', 'acct-bob', 'sell', '31000'), { delay: 90 });
    await kit.advance(89_999);
    expect(kit).not.toHavePublished(OrderPlaced, { orderId: 'later' });
    await kit.advance(1);
    expect(kit).toHavePublished(OrderPlaced, { orderId: 'later', locked: '1' });
    expect((await book()).asks).toEqual([{ price: '31000', amount: '1', orders: 1 }]);
  });
});

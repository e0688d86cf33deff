import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../src/config/domain';
import type { OrderView } from '../src/domain/views';
import { alice, bob, eventually, type Harness, startHarness } from './helpers';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});

afterEach(async () => {
  await h.close();
});

const HUGE = '999999999999999.99999999';
const post = (url: string, payload: Record<string, unknown>, headers = alice) =>
  h.server.inject({ method: 'POST', url, headers, payload });

/** The reported scenario's first half: three deposits of the largest amount the API accepts. */
async function threeHugeDeposits(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const response = await post('/deposits', { asset: 'USD', amount: HUGE });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual({
      error: 'limit exceeded',
      limit: 'maxBalance',
      fields: {
        amount: [
          `would bring the USD balance to 1000000000999999.99999999, above the max balance of ${LIMITS.maxBalance} USD`,
        ],
      },
    });
  }
  const usd = (await h.server.inject({ url: '/balances', headers: alice })).json().balances.USD;
  expect(usd).toEqual({ available: '1000000', locked: '0' });
}

describe('huge amounts never cause a 500', () => {
  it('three deposits of 999999999999999.99999999 then buys, synchronously: 422 naming each limit', async () => {
    await threeHugeDeposits();
    const fields = async (body: Record<string, unknown>) => {
      const response = await post('/orders', { pair: 'BTC/USD', side: 'buy', type: 'limit', ...body });
      expect(response.statusCode, JSON.stringify(body)).toBe(422);
      return response.json().fields;
    };
    expect(await fields({ amount: HUGE, price: '30000' })).toEqual({
      amount: ['must be at most 1000000000 BTC (max amount)'],
    });
    expect(await fields({ amount: '1', price: HUGE })).toEqual({
      price: ['must be at most 1000000000 USD (max price)'],
    });
    expect(await fields({ amount: '1000.00000001', price: '1000000000' })).toEqual({
      amount: ['amount × price must be at most 1000000000000 USD (max notional)'],
    });
    expect(await fields({ amount: '1234567890123456', price: '1' })).toEqual({
      amount: ['must have at most 15 digits before the point'],
    });
    // At the notional limit the order is valid and the exchange rejects it for want of funds.
    const broke = await fields({ amount: '1000', price: '1000000000' });
    expect(broke.amount[0]).toContain('insufficient USD balance: available 1000000, needed 1000000000000');

    // Up to the max balance deposits work; a market buy then locks at most the max notional.
    const topUp = await post('/deposits', { asset: 'USD', amount: '9999999000000' });
    expect(topUp.statusCode).toBe(201);
    expect(topUp.json().balances.USD.available).toBe(LIMITS.maxBalance);
    expect((await post('/deposits', { asset: 'USD', amount: '0.00000001' })).statusCode).toBe(422);
    await post('/orders', { pair: 'BTC/USD', side: 'sell', type: 'limit', amount: '1', price: '30000' }, bob);
    const market = await post('/orders', { pair: 'BTC/USD', side: 'buy', type: 'market', amount: '2' });
    expect(market.statusCode).toBe(201);
    expect(market.json()).toMatchObject({ status: 'cancelled', filled: '1' });
    const placed = (await h.app.adapters.eventStore.readStream(h.app.config.stream)).filter(
      (e) => e.type === 'exchange.OrderPlaced' && e.data.orderType === 'market',
    );
    expect(placed.map((e) => e.data.locked)).toEqual([LIMITS.maxNotional]);
    const big = await post('/orders', {
      pair: 'BTC/USD',
      side: 'buy',
      type: 'limit',
      amount: '1000',
      price: '1000000000',
    });
    expect(big.statusCode).toBe(201);
    expect((await h.server.inject({ url: '/balances', headers: alice })).json().balances.USD.locked).toBe(
      '1000000000000',
    );
  });

  it('the same scenario asynchronously: limits answer 422 before queueing, a lack of funds shows as rejected', async () => {
    await threeHugeDeposits();
    const huge = await post('/orders?async=1', {
      pair: 'BTC/USD',
      side: 'buy',
      type: 'limit',
      amount: HUGE,
      price: '30000',
    });
    expect(huge.statusCode).toBe(422);
    expect(huge.json().fields).toEqual({ amount: ['must be at most 1000000000 BTC (max amount)'] });
    const market = await post('/orders/async', {
      pair: 'BTC/USD',
      side: 'buy',
      type: 'market',
      amount: HUGE,
    });
    expect(market.statusCode).toBe(422);

    const accepted = await post('/orders?async=1', {
      pair: 'BTC/USD',
      side: 'buy',
      type: 'limit',
      amount: '1000',
      price: '1000000000',
    });
    expect(accepted.statusCode).toBe(202);
    const { orderId } = accepted.json();
    const order = await eventually(async () => {
      const r = await h.server.inject({ url: `/orders/${orderId}`, headers: alice });
      return r.statusCode === 200 ? r.json<OrderView>() : undefined;
    });
    expect(order).toMatchObject({ status: 'rejected', field: 'amount' });
    expect(order.reason).toContain('insufficient USD balance');
    expect(h.app.stats.afterCommitFailures).toBe(0);
  });
});

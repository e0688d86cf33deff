import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OrderPage, OrderView } from '../src/domain/views';
import { alice, bob, type Harness, startHarness } from './helpers';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});

afterEach(async () => {
  await h.close();
});

const place = async (price: string, headers = alice) =>
  (
    await h.server.inject({
      method: 'POST',
      url: '/orders',
      headers,
      payload: { pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '0.1', price },
    })
  ).json<OrderView>();
const list = (query: string, headers: Record<string, string> = alice) =>
  h.server.inject({ url: `/orders${query}`, headers });

describe('GET /orders', () => {
  it("lists only the caller's orders, newest first, a page at a time by cursor", async () => {
    const mine: string[] = [];
    for (let i = 1; i <= 5; i++) {
      mine.push((await place(`${100 + i}`)).orderId);
      await place(`${200 + i}`, bob);
    }
    const first = await list('?limit=2');
    expect(first.statusCode).toBe(200);
    const page1 = first.json<OrderPage>();
    expect(page1.orders.map((o) => o.orderId)).toEqual([mine[4], mine[3]]);
    expect(page1.orders.every((o) => o.accountId === 'acct-alice')).toBe(true);
    expect(page1.nextCursor).toEqual(expect.any(String));

    // An order placed between two pages does not shift the next one.
    const newest = (await place('999')).orderId;
    const page2 = (await list(`?limit=2&cursor=${page1.nextCursor}`)).json<OrderPage>();
    expect(page2.orders.map((o) => o.orderId)).toEqual([mine[2], mine[1]]);
    const page3 = (await list(`?limit=2&cursor=${page2.nextCursor}`)).json<OrderPage>();
    expect(page3).toEqual({ orders: [expect.objectContaining({ orderId: mine[0] })], nextCursor: null });

    const all = (await list('')).json<OrderPage>();
    expect(all.orders.map((o) => o.orderId)).toEqual([newest, ...mine.reverse()]);
    expect(all.nextCursor).toBeNull();
  });

  it('shows each order in its current state, rejected ones with their reason', async () => {
    const open = await place('100');
    await h.server.inject({ method: 'DELETE', url: `/orders/${open.orderId}`, headers: alice });
    const rejected = await h.server.inject({
      method: 'POST',
      url: '/orders',
      headers: alice,
      payload: { pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '1000', price: '30000' },
    });
    expect(rejected.statusCode).toBe(422);
    const { orders } = (await list('')).json<OrderPage>();
    expect(orders.map((o) => o.status)).toEqual(['rejected', 'cancelled']);
    expect(orders[0]).toMatchObject({ field: 'amount', reason: expect.stringContaining('insufficient USD') });
  });

  it('answers 401 without identity and 422 for a bad limit or cursor; the max limit is 100', async () => {
    expect((await list('', {})).statusCode).toBe(401);
    expect((await list('', { authorization: 'Bearer nope' })).statusCode).toBe(401);
    for (const bad of ['0', '101', '2.5', 'ten', '-1', '1e1', '0x10']) {
      const response = await list(`?limit=${bad}`);
      expect(response.statusCode, bad).toBe(422);
      expect(response.json().fields).toEqual({ limit: ['must be an integer from 1 to 100'] });
    }
    expect((await list('?limit=100')).statusCode).toBe(200);
    for (const bad of ['nope', 'MTIz', Buffer.from('orders-before:0').toString('base64url')]) {
      const response = await list(`?cursor=${bad}`);
      expect(response.statusCode, bad).toBe(422);
      expect(response.json().fields).toEqual({ cursor: ['is not a cursor this API gave out'] });
    }
    expect((await list('')).json()).toEqual({ orders: [], nextCursor: null });
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OrderView } from '../src/domain/views';
import { alice, bob, eventually, type Harness, startHarness } from './helpers';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});

afterEach(async () => {
  await h.close();
});

const buy = { pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '0.5', price: '30000' };
const send = (
  method: 'POST' | 'DELETE',
  url: string,
  key: string | undefined,
  payload?: Record<string, unknown>,
  who: Record<string, string> = alice,
) =>
  h.server.inject({
    method,
    url,
    headers: { ...who, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    ...(payload === undefined ? {} : { payload }),
  });
const storedTypes = async () =>
  (await h.app.adapters.eventStore.readStream(h.app.config.stream)).map((e) => e.type);
const usdOf = async (who: Record<string, string>) =>
  (await h.server.inject({ url: '/balances', headers: who })).json().balances.USD;

describe('Idempotency-Key', () => {
  it('answers a retried POST /orders with the first status and body, and places one order', async () => {
    const first = await send('POST', '/orders', 'order-key-1', buy);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ status: 'open', filled: '0' });

    // A trade fills half of it; a retry (keys in another order) still gets the first answer.
    await send('POST', '/orders', undefined, { ...buy, side: 'sell', amount: '0.25' }, bob);
    const stored = await storedTypes();
    const balances = await usdOf(alice);
    const retry = await send('POST', '/orders', 'order-key-1', {
      price: '30000',
      amount: '0.5',
      type: 'limit',
      side: 'buy',
      pair: 'BTC/USD',
    });
    expect(retry.statusCode).toBe(201);
    expect(retry.body).toBe(first.body);
    expect(retry.headers.location).toBe(first.headers.location);
    expect(await storedTypes()).toEqual(stored);
    expect(await usdOf(alice)).toEqual(balances);
    expect(stored.filter((t) => t === 'exchange.OrderPlaced')).toHaveLength(2); // alice's and bob's
    const now = await h.server.inject({ url: first.headers.location as string, headers: alice });
    expect(now.json()).toMatchObject({ status: 'partially_filled', filled: '0.25' });

    const page = (await h.server.inject({ url: '/orders', headers: alice })).json();
    expect(page.orders).toHaveLength(1);
  });

  it('replays a rejected order (422) as it was, without storing a second rejection', async () => {
    const tooBig = { ...buy, amount: '100' };
    const first = await send('POST', '/orders', 'rejected-1', tooBig);
    expect(first.statusCode).toBe(422);
    expect(first.json().order.status).toBe('rejected');
    const count = (await storedTypes()).length;
    const retry = await send('POST', '/orders', 'rejected-1', tooBig);
    expect(retry.statusCode).toBe(422);
    expect(retry.body).toBe(first.body);
    expect(await storedTypes()).toHaveLength(count);
  });

  it('refuses the same key with a different body (422) and changes nothing', async () => {
    await send('POST', '/orders', 'reused', buy);
    const count = (await storedTypes()).length;
    const other = await send('POST', '/orders', 'reused', { ...buy, amount: '0.6' });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({
      fields: { 'Idempotency-Key': ['was already used with a different request'] },
    });
    expect(other.json().error).toContain(
      'Idempotency-Key "reused" was already used with a different request',
    );
    const asAsync = await send('POST', '/orders?async=1', 'reused', buy);
    expect(asAsync.statusCode).toBe(422);
    expect(await storedTypes()).toHaveLength(count);
  });

  it('keeps keys apart per caller', async () => {
    const mine = await send('POST', '/orders', 'shared-key', buy);
    const theirs = await send('POST', '/orders', 'shared-key', { ...buy, amount: '0.1' }, bob);
    expect(mine.statusCode).toBe(201);
    expect(theirs.statusCode).toBe(201);
    expect(theirs.json<OrderView>().orderId).not.toBe(mine.json<OrderView>().orderId);
    // Each caller's retry gets that caller's first answer.
    expect((await send('POST', '/orders', 'shared-key', buy)).body).toBe(mine.body);
    expect((await send('POST', '/orders', 'shared-key', { ...buy, amount: '0.1' }, bob)).body).toBe(
      theirs.body,
    );
  });

  it('answers a retried async POST with the first 202 body; the worker places one order', async () => {
    const first = await send('POST', '/orders?async=1', 'async-key', buy);
    expect(first.statusCode).toBe(202);
    const { orderId, messageId } = first.json();
    const retry = await send('POST', '/orders?async=1', 'async-key', buy);
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toEqual({ messageId, orderId, status: 'pending' });
    await eventually(async () => {
      const r = await send('POST', '/orders?async=1', 'async-key', buy);
      expect(r.json()).toEqual({ messageId, orderId, status: 'pending' });
      const order = await h.server.inject({ url: `/orders/${orderId}`, headers: alice });
      return order.statusCode === 200 ? true : undefined;
    });
    await h.app.cqrs.close(); // let the worker finish what the retries sent
    const types = await storedTypes();
    expect(types.filter((t) => t === 'exchange.OrderPlaced')).toHaveLength(1);
    expect(types.filter((t) => t === 'exchange.IdempotencyKeyRecorded')).toHaveLength(1);
  });

  it('answers a retried DELETE with the first 200 instead of 409', async () => {
    const placed = (await send('POST', '/orders', undefined, buy)).json<OrderView>();
    const first = await send('DELETE', `/orders/${placed.orderId}`, 'cancel-1');
    expect(first.statusCode).toBe(200);
    expect(first.json().status).toBe('cancelled');
    const count = (await storedTypes()).length;
    const retry = await send('DELETE', `/orders/${placed.orderId}`, 'cancel-1');
    expect(retry.statusCode).toBe(200);
    expect(retry.body).toBe(first.body);
    expect(await storedTypes()).toHaveLength(count);
    const withoutKey = await send('DELETE', `/orders/${placed.orderId}`, undefined);
    expect(withoutKey.statusCode).toBe(409);
    const otherOrder = (await send('POST', '/orders', undefined, buy)).json<OrderView>();
    const reused = await send('DELETE', `/orders/${otherOrder.orderId}`, 'cancel-1');
    expect(reused.statusCode).toBe(422);
  });

  it('answers 400 naming the header when the key is malformed', async () => {
    for (const bad of ['', 'has space', 'x'.repeat(129), 'ключ', 'semi;colon']) {
      const response = await h.server.inject({
        method: 'POST',
        url: '/orders',
        headers: { ...alice, 'idempotency-key': bad },
        payload: buy,
      });
      expect(response.statusCode, JSON.stringify(bad)).toBe(400);
      expect(response.json().error).toContain('Idempotency-Key');
    }
    const badBoth = await h.server.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...alice, 'idempotency-key': 'no spaces please' },
      payload: [1, 2],
    });
    expect(badBoth.statusCode).toBe(400);
    const twice = await h.server.inject({
      method: 'DELETE',
      url: '/orders/x',
      headers: { ...alice, 'idempotency-key': ['a', 'b'] },
    });
    expect(twice.statusCode).toBe(400);
    expect((await send('POST', '/orders', 'x'.repeat(128), buy)).statusCode).toBe(201);
    expect(await storedTypes()).toContain('exchange.IdempotencyKeyRecorded');
  });
});

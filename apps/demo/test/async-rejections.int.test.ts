import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { PlaceOrderCommand } from '../src/domain/messages';
import type { OrderPage, OrderView } from '../src/domain/views';
import { alice, eventually, type Harness, removeRedisPrefix, startHarness } from './helpers';

let h: Harness | undefined;
let cleanup: (() => Promise<void>) | undefined;

afterEach(async () => {
  await h?.close();
  await cleanup?.();
  h = undefined;
  cleanup = undefined;
});

/**
 * A well-formed order command that breaks a rule, as an older sender (or one with other limits)
 * could queue it: built valid, then changed, so only its shape is checked when it is sent.
 */
function queuedCommand(orderId: string, changes: Partial<Record<'pair' | 'amount' | 'price', string>>) {
  const command = new PlaceOrderCommand(orderId, 'acct-alice', 'BTC/USD', 'buy', 'limit', '1', '100');
  return Object.assign(command, changes);
}

async function orderOf(harness: Harness, orderId: string): Promise<OrderView> {
  return eventually(async () => {
    const r = await harness.server.inject({ url: `/orders/${orderId}`, headers: alice });
    return r.statusCode === 200 ? r.json<OrderView>() : undefined;
  }, 20_000);
}

describe.each(['memory', 'bullmq'])('async orders that fail for a domain reason (%s queue)', (queue) => {
  it('end rejected with their reason, in GET /orders/:id and GET /orders', async () => {
    const stream = `demo-async-rejections-${randomBytes(4).toString('hex')}`;
    h = await startHarness({ QUEUE_CONNECTION: queue, EXCHANGE_STREAM: stream });
    if (queue === 'bullmq') cleanup = () => removeRedisPrefix(`${stream}-bull`);
    const harness = h;
    expect((await harness.server.inject({ url: '/health' })).json().queue).toBe(queue);

    const broke = await harness.server.inject({
      method: 'POST',
      url: '/orders?async=1',
      headers: alice,
      payload: { pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '40', price: '30000' },
    });
    expect(broke.statusCode).toBe(202);
    const brokeId = broke.json().orderId as string;

    const { commandBus } = harness.app.cqrs;
    await commandBus.dispatchAsync(queuedCommand('queued-over-limit', { amount: '5000000000' }));
    await commandBus.dispatchAsync(queuedCommand('queued-unknown-pair', { pair: 'DOGE/USD' }));
    await commandBus.dispatchAsync(
      queuedCommand('queued-over-notional', { amount: '2000', price: '999999999' }),
    );

    expect(await orderOf(harness, brokeId)).toMatchObject({
      status: 'rejected',
      field: 'amount',
      reason: 'insufficient USD balance: available 1000000, needed 1200000',
    });
    expect(await orderOf(harness, 'queued-over-limit')).toMatchObject({
      status: 'rejected',
      field: 'amount',
      reason: 'must be at most 1000000000 BTC (max amount)',
    });
    expect(await orderOf(harness, 'queued-unknown-pair')).toMatchObject({
      status: 'rejected',
      pair: 'DOGE/USD',
      field: 'pair',
      reason: 'must be one of BTC/USD, ETH/USD',
    });
    expect(await orderOf(harness, 'queued-over-notional')).toMatchObject({
      status: 'rejected',
      reason: 'amount × price must be at most 1000000000000 USD (max notional)',
    });

    const page = (await harness.server.inject({ url: '/orders', headers: alice })).json<OrderPage>();
    expect(page.orders.map((o) => [o.orderId, o.status])).toEqual(
      expect.arrayContaining([
        [brokeId, 'rejected'],
        ['queued-over-limit', 'rejected'],
        ['queued-unknown-pair', 'rejected'],
        ['queued-over-notional', 'rejected'],
      ]),
    );
    expect(page.orders).toHaveLength(4);
    const balances = (await harness.server.inject({ url: '/balances', headers: alice })).json().balances;
    expect(balances.USD).toEqual({ available: '1000000', locked: '0' });
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WithdrawalView } from '../src/withdrawals/module';
import { alice, eventually, type Harness, startHarness } from './helpers';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const withdraw = (amount: unknown, headers: Record<string, string> = alice) =>
  h.server.inject({ method: 'POST', url: '/withdrawals', headers, payload: { amount } });

describe('withdrawals over HTTP (the embedded demo)', () => {
  it('a requested withdrawal is listed and ends settled, released or rejected; the accounts add up', async () => {
    const ids: string[] = [];
    for (const amount of ['10', '20.5', '5000']) {
      const response = await withdraw(amount);
      expect(response.statusCode).toBe(202);
      ids.push(response.json<{ withdrawalId: string }>().withdrawalId);
    }
    const listed = await eventually(async () => {
      const body = (await h.server.inject({ url: '/withdrawals' })).json<{ withdrawals: WithdrawalView[] }>();
      const mine = body.withdrawals.filter((w) => ids.includes(w.withdrawalId));
      return mine.length === 3 && mine.every((w) => w.status === 'completed') ? mine : undefined;
    }, 30_000);
    const byId = new Map(listed.map((w) => [w.withdrawalId, w]));
    // More than the opening balance of 1000: rejected when reserving.
    expect(byId.get(ids[2]!)?.stage).toBe('rejected');
    for (const id of ids.slice(0, 2)) expect(['settled', 'released']).toContain(byId.get(id)?.stage);
    const reconciliation = await h.app.withdrawals.reconcile();
    expect(reconciliation).toMatchObject({ stuck: 0, doubleSettled: 0, mismatched: 0, balanced: true });
  });

  it('refuses a bad amount (400) and a missing token (401); unknown withdrawals are 404 for operator actions', async () => {
    expect((await withdraw('-3')).statusCode).toBe(400);
    expect((await withdraw(12)).statusCode).toBe(400);
    expect((await withdraw('1', {})).statusCode).toBe(401);
    const retry = await h.server.inject({ method: 'POST', url: '/withdrawals/nope/retry' });
    expect(retry.statusCode).toBe(404);
    expect(retry.json()).toMatchObject({ reason: 'not-found' });
  });

  it('serves the withdrawals page', async () => {
    const page = await h.server.inject({ url: '/withdrawals/page' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Withdrawals</h1>');
  });
});

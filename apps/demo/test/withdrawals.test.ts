import { createCqrs, silentLogger } from '@finaegis/core';
import {
  createMemoryProcessStore,
  createMemoryTransactionManager,
  createMemoryTransport,
} from '@finaegis/memory';
import { describe, expect, test } from 'vitest';
import { parseAmount } from '../src/decimal';
import { createMemoryWithdrawalBook } from '../src/withdrawals/book';
import { installWithdrawals } from '../src/withdrawals/module';
import { behaviourOf } from '../src/withdrawals/provider';
import { eventually } from './helpers';

describe('withdrawals as a process (memory adapters)', () => {
  test('every withdrawal ends once, whatever the provider does; the books add up', async () => {
    const cqrs = createCqrs({
      logger: silentLogger,
      transport: createMemoryTransport(),
      transactionManager: createMemoryTransactionManager(),
    });
    const book = createMemoryWithdrawalBook();
    const withdrawals = installWithdrawals(cqrs, {
      book,
      store: createMemoryProcessStore(),
      payoutTimeoutSeconds: 0.1,
      provider: { slowMs: 250 },
    });
    await book.open('alice', parseAmount('1000'));
    await book.open('bob', parseAmount('50'));
    const worker = await cqrs.startWorker({ concurrency: 8 });
    const ids: string[] = [];
    for (let index = 0; index < 120; index++) {
      ids.push(await withdrawals.request(index % 3 === 0 ? 'bob' : 'alice', `${(index % 7) + 1}.25`));
    }
    // Every behaviour of the provider is in the run.
    expect(new Set(ids.map((id) => behaviourOf(id))).size).toBe(4);
    const result = await eventually(async () => {
      const r = await withdrawals.reconcile();
      return r.withdrawals === 120 && r.stuck === 0 ? r : undefined;
    }, 20_000);
    expect(result.doubleSettled).toBe(0);
    expect(result.mismatched).toBe(0);
    expect(result.balanced).toBe(true);
    expect(result.reservedLeft).toBe(0n);
    expect(Object.keys(result.byStage).sort()).toEqual(['rejected', 'released', 'settled']);
    const listed = await withdrawals.list(5);
    expect(listed).toHaveLength(5);
    expect(listed[0]?.status).toBe('completed');
    await withdrawals.close();
    await worker.close();
    await cqrs.close();
  });
});

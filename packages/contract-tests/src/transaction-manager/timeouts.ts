import { TransactionTimeoutError } from '@finaegis/core';
import { rejectionOf } from '../registration';
import { sleep, waitFor } from '../runner';
import type { TransactionManagerContractGroup } from './harness';
import { define, expectInstance } from './scope';

export const timeouts: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const { probe } = harness;
  const timeoutMs = harness.tolerances?.timeoutMs ?? 300;
  const waitMs = harness.tolerances?.waitMs ?? 10_000;
  runner.describe('timeout', () => {
    test('work that outlives the timeout ends in TransactionTimeoutError, aborts the signal, and nothing of it lands, not even later writes', async (scope) => {
      const manager = await scope.manager();
      const before = scope.key('before');
      const late = scope.key('late');
      let signal: AbortSignal | undefined;
      let lateWrite: Promise<unknown> | undefined;
      const started = Date.now();
      const error = await rejectionOf(
        manager.run(
          async (tx) => {
            signal = tx.signal;
            await probe.write(tx, before, 1);
            // Work that does not watch the signal, then writes again once its time is up.
            await new Promise((resolve) => tx.signal.addEventListener('abort', resolve, { once: true }));
            lateWrite = probe.write(tx, late, 2);
            await lateWrite;
          },
          { timeoutMs },
        ),
      );
      expectInstance(expect, error, TransactionTimeoutError);
      expect((error as TransactionTimeoutError).timeoutMs).toBeGreaterThanOrEqual(timeoutMs);
      expect(Date.now() - started).toBeGreaterThanOrEqual(timeoutMs - 5);
      expect(signal?.aborted).toBe(true);
      await waitFor(() => lateWrite !== undefined, 'the late write to start', waitMs);
      await Promise.race([lateWrite!.catch(() => undefined), sleep(waitMs)]);
      expect(await probe.read(before)).toBe(0);
      expect(await probe.read(late)).toBe(0);
    });
  });
};

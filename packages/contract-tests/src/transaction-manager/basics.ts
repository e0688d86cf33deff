import { PlannedFailure } from '../errors/planned-failure';
import { rejectionOf } from '../registration';
import type { TransactionManagerContractGroup } from './harness';
import { define, RUN } from './scope';

export const basics: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const { probe } = harness;
  runner.describe('commit and rollback', () => {
    test('a resolved work commits: nobody sees its writes before, everybody after', async (scope) => {
      const manager = await scope.manager();
      const key = scope.key();
      const result = await manager.run(async (tx) => {
        expect(typeof tx.id).toBe('string');
        expect(tx.signal.aborted).toBe(false);
        await probe.write(tx, key, 7);
        expect(await probe.readIn(tx, key)).toBe(7);
        expect(await probe.read(key)).toBe(0);
        return 'done';
      }, RUN);
      expect(result).toBe('done');
      expect(await probe.read(key)).toBe(7);
    });

    test('a rejected work rolls back, rethrows its own error and aborts the signal', async (scope) => {
      const manager = await scope.manager();
      const key = scope.key();
      const failure = new PlannedFailure('the work failed');
      let signal: AbortSignal | undefined;
      const error = await rejectionOf(
        manager.run(async (tx) => {
          signal = tx.signal;
          await probe.write(tx, key, 1);
          throw failure;
        }, RUN),
      );
      expect(error).toBe(failure);
      expect(signal?.aborted).toBe(true);
      expect(await probe.read(key)).toBe(0);
    });

    test('a work that throws before returning a promise rolls back too', async (scope) => {
      const manager = await scope.manager();
      const failure = new PlannedFailure('thrown at once');
      const error = await rejectionOf(
        manager.run(() => {
          throw failure;
        }, RUN),
      );
      expect(error).toBe(failure);
    });

    test('each run has its own context with its own id', async (scope) => {
      const manager = await scope.manager();
      const ids = await Promise.all([1, 2, 3].map(() => manager.run(async (tx) => tx.id, RUN)));
      expect(new Set(ids).size).toBe(3);
    });
  });
};

import { type TransactionContext, UnitOfWorkError } from '@finaegis/core';
import { PlannedFailure } from '../errors/planned-failure';
import { rejectionOf } from '../registration';
import { uniqueName } from '../runner';
import type { TransactionManagerContractGroup } from './harness';
import { define, expectInstance, RUN, savepointOf } from './scope';

export const ending: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const { features } = harness;
  runner.describe('after the end', () => {
    test('a context whose transaction committed or rolled back refuses savepoint and enqueue with UnitOfWorkError', async (scope) => {
      const manager = await scope.manager();
      const committed = await manager.run(async (tx) => tx, RUN);
      let rolledBack: TransactionContext | undefined;
      await rejectionOf(
        manager.run(async (tx) => {
          rolledBack = tx;
          throw new PlannedFailure('rolled back');
        }, RUN),
      );
      for (const tx of [committed, rolledBack!]) {
        if (features.savepoint) {
          expectInstance(expect, await rejectionOf(savepointOf(tx)(async () => 'late')), UnitOfWorkError);
        }
        if (features.outbox) {
          const message = { id: `${scope.prefix}-late`, type: 'contract.Late', body: '{}', headers: {} };
          expectInstance(
            expect,
            await rejectionOf(tx.enqueue!(uniqueName('contract-late'), message)),
            UnitOfWorkError,
          );
        }
      }
      expect(rolledBack?.signal.aborted).toBe(true);
    });
  });
};

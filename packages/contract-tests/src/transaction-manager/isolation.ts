import { PlannedFailure } from '../errors/planned-failure';
import { rejectionOf } from '../registration';
import { gate } from '../runner';
import type { TransactionManagerContractGroup } from './harness';
import { define, expectInstance, RUN } from './scope';

export const isolation: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const { probe } = harness;
  runner.describe('isolation', () => {
    test('concurrent transactions do not see each other’s uncommitted writes, and both commit', async (scope) => {
      const manager = await scope.manager();
      const first = scope.key('first');
      const second = scope.key('second');
      const firstWrote = gate();
      const secondChecked = gate();
      const one = manager.run(async (tx) => {
        await probe.write(tx, first, 1);
        firstWrote.open();
        await secondChecked.promise;
        expect(await probe.readIn(tx, second)).toBe(0);
      }, RUN);
      const two = manager.run(async (tx) => {
        await firstWrote.promise;
        expect(await probe.readIn(tx, first)).toBe(0);
        await probe.write(tx, second, 2);
        secondChecked.open();
      }, RUN);
      await Promise.all([one, two]);
      expect(await probe.read(first)).toBe(1);
      expect(await probe.read(second)).toBe(2);
    });

    test('a transaction rolling back does not undo a concurrent one', async (scope) => {
      const manager = await scope.manager();
      const kept = scope.key('kept');
      const dropped = scope.key('dropped');
      const bothWrote = [gate(), gate()] as const;
      const failing = manager.run(async (tx) => {
        await probe.write(tx, dropped, 1);
        bothWrote[0].open();
        await bothWrote[1].promise;
        throw new PlannedFailure('rolls back');
      }, RUN);
      const committing = manager.run(async (tx) => {
        await probe.write(tx, kept, 2);
        bothWrote[1].open();
        await bothWrote[0].promise;
      }, RUN);
      expectInstance(expect, await rejectionOf(failing), PlannedFailure);
      await committing;
      expect(await probe.read(kept)).toBe(2);
      expect(await probe.read(dropped)).toBe(0);
    });
  });
};

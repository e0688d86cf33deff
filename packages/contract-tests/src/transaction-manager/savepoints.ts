import { PlannedFailure } from '../errors/planned-failure';
import { rejectionOf } from '../registration';
import { report, sleep } from '../runner';
import type { TransactionManagerContractGroup } from './harness';
import { define, expectInstance, RUN, savepointOf } from './scope';

export const savepoints: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const { probe } = harness;
  if (!harness.features.savepoint) {
    report(
      `${harness.name} transaction manager: declares savepoint off; nested transaction tests not registered`,
    );
    return;
  }
  runner.describe('savepoints', () => {
    test('a nested context has the same signal and client, its own id, and a savepoint of its own', async (scope) => {
      const manager = await scope.manager();
      await manager.run(async (tx) => {
        await savepointOf(tx)(async (nested) => {
          expect(nested.signal).toBe(tx.signal);
          expect(nested.client).toBe(tx.client);
          expect(nested.id).not.toBe(tx.id);
          expect(typeof nested.savepoint).toBe('function');
        });
      }, RUN);
    });

    test('a failed nested work is undone and its error rethrown; the outer commits what it did before and after', async (scope) => {
      const manager = await scope.manager();
      const [before, overwritten, inner, after] = [
        scope.key('before'),
        scope.key('overwritten'),
        scope.key('inner'),
        scope.key('after'),
      ];
      const failure = new PlannedFailure('nested failed');
      await manager.run(async (tx) => {
        await probe.write(tx, before, 1);
        await probe.write(tx, overwritten, 1);
        const error = await rejectionOf(
          savepointOf(tx)(async (nested) => {
            // The nested work reads what the outer wrote, and its own writes.
            expect(await probe.readIn(nested, before)).toBe(1);
            await probe.write(nested, inner, 2);
            await probe.write(nested, overwritten, 2);
            expect(await probe.readIn(nested, overwritten)).toBe(2);
            throw failure;
          }),
        );
        expect(error).toBe(failure);
        expect(await probe.readIn(tx, inner)).toBe(0);
        expect(await probe.readIn(tx, overwritten)).toBe(1);
        await probe.write(tx, after, 3);
      }, RUN);
      expect(await probe.read(before)).toBe(1);
      expect(await probe.read(overwritten)).toBe(1);
      expect(await probe.read(inner)).toBe(0);
      expect(await probe.read(after)).toBe(3);
    });

    test('a resolved nested work returns its value and commits with the outer', async (scope) => {
      const manager = await scope.manager();
      const inner = scope.key('inner');
      await manager.run(async (tx) => {
        const value = await savepointOf(tx)(async (nested) => {
          await probe.write(nested, inner, 5);
          return 'nested value';
        });
        expect(value).toBe('nested value');
        expect(await probe.readIn(tx, inner)).toBe(5);
        expect(await probe.read(inner)).toBe(0);
      }, RUN);
      expect(await probe.read(inner)).toBe(5);
    });

    test('an outer rollback undoes a resolved nested work', async (scope) => {
      const manager = await scope.manager();
      const inner = scope.key('inner');
      const error = await rejectionOf(
        manager.run(async (tx) => {
          await savepointOf(tx)((nested) => probe.write(nested, inner, 5));
          throw new PlannedFailure('outer failed');
        }, RUN),
      );
      expectInstance(expect, error, PlannedFailure);
      expect(await probe.read(inner)).toBe(0);
    });

    test('savepoints nest: a failed innermost is undone alone, a failed middle undoes what nested in it', async (scope) => {
      const manager = await scope.manager();
      const [outer, middle, innermost, keptInner, droppedMiddle] = [
        scope.key('outer'),
        scope.key('middle'),
        scope.key('innermost'),
        scope.key('kept-inner'),
        scope.key('dropped-middle'),
      ];
      await manager.run(async (tx) => {
        await probe.write(tx, outer, 1);
        await savepointOf(tx)(async (level1) => {
          await probe.write(level1, middle, 2);
          const error = await rejectionOf(
            savepointOf(level1)(async (level2) => {
              expect(await probe.readIn(level2, middle)).toBe(2);
              await probe.write(level2, innermost, 3);
              throw new PlannedFailure('innermost failed');
            }),
          );
          expectInstance(expect, error, PlannedFailure);
          expect(await probe.readIn(level1, innermost)).toBe(0);
          expect(await probe.readIn(level1, middle)).toBe(2);
        });
        const error = await rejectionOf(
          savepointOf(tx)(async (level1) => {
            await probe.write(level1, droppedMiddle, 4);
            await savepointOf(level1)((level2) => probe.write(level2, keptInner, 5));
            throw new PlannedFailure('middle failed after its nested work resolved');
          }),
        );
        expectInstance(expect, error, PlannedFailure);
        expect(await probe.readIn(tx, keptInner)).toBe(0);
      }, RUN);
      expect(await probe.read(outer)).toBe(1);
      expect(await probe.read(middle)).toBe(2);
      expect(await probe.read(innermost)).toBe(0);
      expect(await probe.read(droppedMiddle)).toBe(0);
      expect(await probe.read(keptInner)).toBe(0);
    });

    test('sibling savepoints started together run one after the other; a failing one undoes only its own writes', async (scope) => {
      const manager = await scope.manager();
      const failed = scope.key('failed');
      const kept = scope.key('kept');
      const steps: string[] = [];
      await manager.run(async (tx) => {
        const savepoint = savepointOf(tx);
        const first = savepoint(async (nested) => {
          steps.push('first starts');
          await probe.write(nested, failed, 1);
          // Time for the second to start if it were not held back.
          await sleep(50);
          steps.push('first fails');
          throw new PlannedFailure('first failed');
        });
        const second = savepoint(async (nested) => {
          steps.push('second starts');
          await probe.write(nested, kept, 2);
          steps.push('second ends');
        });
        const [one, two] = await Promise.allSettled([first, second]);
        expect(one.status).toBe('rejected');
        expect(two.status).toBe('fulfilled');
      }, RUN);
      expect(steps).toEqual(['first starts', 'first fails', 'second starts', 'second ends']);
      expect(await probe.read(failed)).toBe(0);
      expect(await probe.read(kept)).toBe(2);
    });
  });
};

import type { TransactionManagerContractGroup } from './harness';
import { define, RUN } from './scope';

export const features: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('features', () => {
    test('contexts offer exactly the declared features', async (scope) => {
      const manager = await scope.manager();
      const offered = await manager.run(
        async (tx) => ({
          savepoint: typeof tx.savepoint === 'function',
          outbox: typeof tx.enqueue === 'function',
        }),
        RUN,
      );
      runner
        .expect(offered)
        .toEqual({ savepoint: harness.features.savepoint, outbox: harness.features.outbox });
    });
  });
};

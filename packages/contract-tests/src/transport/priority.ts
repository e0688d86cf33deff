import type { TransportContractGroup } from './harness';
import { define, message, whenFeature } from './scope';

export const priority: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const name = 'a backlog is handled highest priority first';
  whenFeature(harness, 'priority', [name], () => {
    runner.describe('priority', () => {
      test(name, async (scope) => {
        const transport = await scope.transport();
        const blocker = message(-1);
        const hold = scope.gate();
        const order: number[] = [];
        let started = false;
        await scope.consume(
          transport,
          async (m) => {
            if (m.id === blocker.id) {
              started = true;
              await hold.promise;
              return;
            }
            order.push(Number(m.headers.priority));
          },
          { group: scope.group(), concurrency: 1 },
        );
        await transport.send(scope.channel, blocker);
        await scope.wait(() => started, 'the consumer to take the first message');
        const priorities = Array.from({ length: scope.count(40) }, (_, i) => (i * 7) % 10);
        for (const p of priorities) {
          await transport.send(scope.channel, message(p, { headers: { priority: String(p) } }), {
            priority: p,
          });
        }
        hold.open();
        await scope.wait(() => order.length >= priorities.length, 'the backlog');
        const judged = order.slice(scope.settings.prefetch);
        runner.expect(judged).toEqual([...judged].sort((a, b) => b - a));
      });
    });
  });
};

import type { TransportContractGroup } from './harness';
import { define, message, whenFeature } from './scope';

export const delay: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const name = 'a delayed message is not delivered early, arrives within the tolerance and holds nothing up';
  whenFeature(harness, 'delay', [name], () => {
    runner.describe('delay', () => {
      test(name, async (scope) => {
        const transport = await scope.transport();
        const arrivals = new Map<string, number>();
        await scope.consume(
          transport,
          async (m) => {
            arrivals.set(m.id, Date.now());
          },
          { group: scope.group(), concurrency: 2 },
        );
        const delayMs = 600;
        const delayed = message(1);
        const immediate = message(2);
        const sentAt = Date.now();
        await transport.send(scope.channel, delayed, { delayMs });
        await transport.send(scope.channel, immediate);
        await scope.wait(() => arrivals.has(delayed.id), 'the delayed message');
        const immediateAt = arrivals.get(immediate.id);
        const delayedAt = arrivals.get(delayed.id)!;
        runner.expect(immediateAt).toBeDefined();
        runner.expect(immediateAt!).toBeLessThanOrEqual(delayedAt);
        runner.expect(delayedAt - sentAt).toBeGreaterThanOrEqual(delayMs - scope.settings.delayEarlyMs);
        runner.expect(delayedAt - sentAt).toBeLessThanOrEqual(delayMs + scope.settings.delayLateMs);
      });
    });
  });
};

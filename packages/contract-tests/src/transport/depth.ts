import type { TransportContractGroup } from './harness';
import { define, message, sendAll, whenFeature } from './scope';

export const depth: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const name = 'depth counts waiting, in-flight (and delayed) messages of a group, and falls to 0';
  whenFeature(harness, 'depth', [name], () => {
    runner.describe('depth', () => {
      test(name, async (scope) => {
        const transport = await scope.transport();
        const group = scope.group();
        const depth = () => transport.depth(scope.channel, { group });
        // The group exists from its first consumer on; it keeps receiving while it has none.
        await (await transport.consume(scope.channel, async () => {}, { group })).close();
        const count = 5;
        await sendAll(
          transport,
          scope.channel,
          Array.from({ length: count }, (_, i) => message(i)),
        );
        await scope.wait(async () => (await depth()) === count, `depth ${count}`);
        const held = scope.held();
        await scope.consume(transport, held.handler, { group });
        await scope.wait(() => held.started === 1, 'the consumer to take one');
        runner.expect(await depth()).toBe(count);
        if (harness.features.delay) {
          await transport.send(scope.channel, message(99), { delayMs: 60_000 });
          await scope.wait(async () => (await depth()) === count + 1, 'the delayed message counted');
        }
        held.release();
        await scope.wait(() => held.finished === count, `${count} handled`);
        const left = harness.features.delay ? 1 : 0;
        await scope.wait(async () => (await depth()) === left, `depth ${left}`);
        runner.expect(await depth()).toBe(left);
      });
    });
  });
};

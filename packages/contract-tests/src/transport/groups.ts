import type { TransportContractGroup } from './harness';
import { define, Inbox, message, sendAll, whenFeature } from './scope';

export const groups: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('groups', () => {
    test('3 competing consumers in one group handle each message exactly once', async (scope) => {
      const group = scope.group();
      const inboxes = [new Inbox(), new Inbox(), new Inbox()];
      for (const inbox of inboxes) {
        await scope.consume(await scope.transport(), inbox.handler, { group, concurrency: 2 });
      }
      const sender = await scope.transport();
      const count = scope.count(300);
      const sent = Array.from({ length: count }, (_, i) => message(i, { key: `k${i % 30}` }));
      await sendAll(sender, scope.channel, sent);
      const all = () => inboxes.flatMap((inbox) => inbox.received);
      await scope.wait(
        () => all().length >= count,
        () => `${count} messages (got ${all().length})`,
      );
      await scope.settle();
      const ids = all().map((m) => m.id);
      runner.expect(ids.length).toBe(count);
      runner.expect(new Set(ids).size).toBe(count);
      runner.expect(all().every((m) => m.group === group)).toBe(true);
    });

    whenFeature(harness, 'consumerGroups', ['two groups each receive every message'], () => {
      test('two groups each receive every message', async (scope) => {
        const first = new Inbox();
        const second = new Inbox();
        const firstGroup = scope.group();
        const secondGroup = scope.group();
        await scope.consume(await scope.transport(), first.handler, { group: firstGroup, concurrency: 4 });
        await scope.consume(await scope.transport(), second.handler, { group: secondGroup, concurrency: 4 });
        const sender = await scope.transport();
        const sent = Array.from({ length: scope.count(100) }, (_, i) => message(i));
        await sendAll(sender, scope.channel, sent);
        await scope.wait(
          () => first.ids().size >= sent.length && second.ids().size >= sent.length,
          () => `${sent.length} messages in each group (got ${first.ids().size} and ${second.ids().size})`,
        );
        await scope.settle();
        runner.expect(first.duplicates()).toEqual([]);
        runner.expect(second.duplicates()).toEqual([]);
        runner.expect(first.received.every((m) => m.group === firstGroup)).toBe(true);
        runner.expect(second.received.every((m) => m.group === secondGroup)).toBe(true);
      });
    });
  });
};

import { uniqueName } from '../runner';
import type { TransportContractGroup } from './harness';
import { define, Inbox, message, whenFeature } from './scope';

export const dedupe: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const name = 'a dedupe id sent twice is handled once; other ids are not affected';
  whenFeature(harness, 'dedupe', [name], () => {
    runner.describe('dedupe', () => {
      test(name, async (scope) => {
        const transport = await scope.transport();
        const inbox = new Inbox();
        await scope.consume(transport, inbox.handler, { group: scope.group() });
        const dedupeId = uniqueName('dedupe');
        const original = message(1);
        const copy = message(2);
        const other = message(3);
        const plain = message(4);
        await transport.send(scope.channel, original, { dedupeId });
        await transport.send(scope.channel, copy, { dedupeId });
        await transport.send(scope.channel, other, { dedupeId: `${dedupeId}-other` });
        await transport.send(scope.channel, plain);
        await scope.wait(
          () => inbox.has(original.id) && inbox.has(other.id) && inbox.has(plain.id),
          'the original, the other id and the plain message',
        );
        await scope.settle();
        runner.expect(inbox.has(copy.id)).toBe(false);
        runner.expect(inbox.received).toHaveLength(3);
      });
    });
  });
};

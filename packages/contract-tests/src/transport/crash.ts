import type { ReceivedMessage } from '@finaegis/core';
import { requireHook } from '../registration';
import type { TransportContractGroup } from './harness';
import { define, Inbox, message } from './scope';

export const crash: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('crash', () => {
    test('a message held by a consumer that dies is redelivered to another consumer of the group', async (scope) => {
      const crashTransport = requireHook(harness.name, harness.crash?.bind(harness), 'crash()');
      const group = scope.group();
      const doomed = await scope.transport();
      const survivor = await scope.transport();
      const hang = scope.gate();
      const taken: ReceivedMessage[] = [];
      await scope.consume(
        doomed,
        async (m) => {
          taken.push(m);
          await hang.promise;
        },
        { group },
      );
      const sent = message(1, { key: 'crash-key' });
      await survivor.send(scope.channel, sent);
      await scope.wait(() => taken.length === 1, 'the first consumer to take the message');
      const inbox = new Inbox();
      await scope.consume(survivor, inbox.handler, { group });
      await crashTransport(doomed);
      await scope.wait(() => inbox.has(sent.id), 'the redelivery to the surviving consumer');
      const again = inbox.received.find((m) => m.id === sent.id)!;
      runner.expect({ body: again.body, headers: again.headers, key: again.key }).toEqual({
        body: sent.body,
        headers: sent.headers,
        key: sent.key,
      });
      runner.expect(again.attempt).toBeGreaterThanOrEqual(1);
    });
  });
};

import type { TransportContractGroup } from './harness';
import { define, Inbox, message } from './scope';

export const concurrency: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('concurrency', () => {
    test('send, consume, depth and deadLetters called side by side by many callers all complete, and every message arrives', async (scope) => {
      const transport = await scope.transport();
      const group = scope.group();
      const inbox = new Inbox();
      const callers = 20;
      const perCaller = scope.count(10);
      const sent = Array.from({ length: callers * perCaller }, (_, i) => message(i, { key: `k${i % 5}` }));
      const calls: Array<Promise<unknown>> = [];
      // Four consumers of one group join while the callers send: the first group to consume a
      // channel receives what was sent before it, so nothing may be missed whatever the interleaving.
      for (let c = 0; c < 4; c++) {
        calls.push(scope.consume(transport, inbox.handler, { group, concurrency: 2 }));
      }
      for (let s = 0; s < callers; s++) {
        calls.push(
          (async () => {
            for (let i = 0; i < perCaller; i++) {
              await transport.send(scope.channel, sent[s * perCaller + i]!);
              if (i % 3 === 0 && harness.features.depth) await transport.depth(scope.channel, { group });
              if (i % 3 === 1 && harness.features.deadLetter) {
                await transport.deadLetters(scope.channel, { group });
              }
            }
          })(),
        );
      }
      const settled = await Promise.allSettled(calls);
      const failures = settled.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      runner.expect(failures).toEqual([]);
      await scope.wait(
        () => inbox.ids().size >= sent.length,
        () => `${sent.length} messages (got ${inbox.ids().size})`,
      );
      runner.expect([...inbox.ids()].sort()).toEqual(sent.map((m) => m.id).sort());
    });
  });
};

import type { TransportMessage } from '@finaegis/core';
import { defineTests, requireHook, whenDeclared } from '../registration';
import { sleep, waitFor } from '../runner';
import type { TransportContractGroup } from './harness';
import { message, Scope, sendAll, settingsOf } from './scope';

const NAME =
  'a consumer resumes after the broker restarts, without being recreated: sends made during the restart resolve once it is back, and every message is handled';

export const reconnect: TransportContractGroup = (runner, harness) => {
  whenDeclared(
    harness.restartBroker !== undefined,
    `${harness.name} harness has no restartBroker()`,
    [NAME],
    () => {
      const settings = settingsOf(harness);
      const reconnectMs = harness.tolerances?.reconnectMs ?? 90_000;
      const test = defineTests(
        runner,
        settings.timeoutMs + 2 * reconnectMs,
        () => new Scope(harness, settings),
      );
      runner.describe('reconnect', () => {
        test(NAME, async (scope) => {
          const restartBroker = requireHook(
            harness.name,
            harness.restartBroker?.bind(harness),
            'restartBroker()',
          );
          const transport = await scope.transport();
          const handled = new Set<string>();
          let deliveries = 0;
          await scope.consume(
            transport,
            async (m) => {
              deliveries++;
              handled.add(m.id);
            },
            { group: scope.group(), concurrency: 4 },
          );
          const batch = (from: number): TransportMessage[] =>
            Array.from({ length: scope.count(10) }, (_, i) => message(from + i, { key: `k${i % 3}` }));
          const handledAll = (messages: readonly TransportMessage[], within: number) =>
            waitFor(
              () => messages.every((m) => handled.has(m.id)),
              () => `${messages.length} messages handled (got ${handled.size}, ${deliveries} deliveries)`,
              within,
            );

          const before = batch(0);
          await sendAll(transport, scope.channel, before);
          await handledAll(before, settings.waitMs);

          const restarting = restartBroker();
          // Issued while the broker goes down and comes back; they must resolve once it is back.
          const during = batch(1_000);
          const sending = Promise.all(during.map((m) => transport.send(scope.channel, m)));
          sending.catch(() => {});
          await restarting;
          const timedOut = sleep(reconnectMs).then(() => 'timed out' as const);
          const sent = await Promise.race([sending.then(() => 'resolved' as const), timedOut]).catch(
            (error: unknown) => `rejected: ${String(error)}`,
          );
          runner
            .expect(`the sends made during the restart: ${sent}`)
            .toBe('the sends made during the restart: resolved');

          const after = batch(2_000);
          await sendAll(transport, scope.channel, after);
          await handledAll([...before, ...during, ...after], reconnectMs);
        });
      });
    },
  );
};

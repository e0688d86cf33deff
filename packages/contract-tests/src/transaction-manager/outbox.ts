import type { TransactionContext, TransportMessage } from '@finaegis/core';
import { ContractTestError } from '../errors/contract-test-error';
import { PlannedFailure } from '../errors/planned-failure';
import { rejectionOf, requireHook } from '../registration';
import { report, sleep, uniqueName, waitFor } from '../runner';
import type { TransactionManagerContractGroup } from './harness';
import { define, RUN, savepointOf } from './scope';

export const outbox: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const waitMs = harness.tolerances?.waitMs ?? 10_000;
  const settleMs = harness.tolerances?.settleMs ?? 200;
  if (!harness.features.outbox) {
    report(`${harness.name} transaction manager: declares outbox off; outbox tests not registered`);
    return;
  }
  const sentIds = async (channel: string): Promise<string[]> => {
    const sent = requireHook(harness.name, harness.sent?.bind(harness), 'sent()');
    return (await sent(channel)).map((message) => message.id);
  };
  const message = (id: string): TransportMessage => ({
    id,
    type: 'contract.Outboxed',
    body: `{"id":"${id}"}`,
    headers: {},
  });
  const enqueueOf = (tx: TransactionContext): NonNullable<TransactionContext['enqueue']> => {
    if (typeof tx.enqueue !== 'function') {
      throw new ContractTestError('the harness declares outbox, but the context has no enqueue');
    }
    return tx.enqueue.bind(tx);
  };
  runner.describe('outbox', () => {
    test('enqueued messages leave after commit, in enqueue order, and never before', async (scope) => {
      const manager = await scope.manager();
      const channel = uniqueName('contract-outbox');
      const ids = ['m1', 'm2', 'm3', 'm4', 'm5'].map((id) => `${scope.prefix}-${id}`);
      await manager.run(async (tx) => {
        for (const id of ids) await enqueueOf(tx)(channel, message(id));
        await sleep(settleMs);
        expect(await sentIds(channel)).toEqual([]);
      }, RUN);
      await waitFor(
        async () => (await sentIds(channel)).length >= ids.length,
        `${ids.length} messages on ${channel}`,
        waitMs,
      );
      expect(await sentIds(channel)).toEqual(ids);
    });

    test('a rolled-back transaction sends nothing', async (scope) => {
      const manager = await scope.manager();
      const channel = uniqueName('contract-outbox');
      await rejectionOf(
        manager.run(async (tx) => {
          await enqueueOf(tx)(channel, message(`${scope.prefix}-dropped`));
          throw new PlannedFailure('rolled back');
        }, RUN),
      );
      // A later commit on the channel shows the relay is running, and that nothing came before it.
      const marker = `${scope.prefix}-marker`;
      await manager.run(async (tx) => enqueueOf(tx)(channel, message(marker)), RUN);
      await waitFor(async () => (await sentIds(channel)).length > 0, `the marker on ${channel}`, waitMs);
      await sleep(settleMs);
      expect(await sentIds(channel)).toEqual([marker]);
    });

    if (harness.features.savepoint) {
      test('messages enqueued in a failed savepoint are never sent; the others leave in order', async (scope) => {
        const manager = await scope.manager();
        const channel = uniqueName('contract-outbox');
        const id = (label: string) => `${scope.prefix}-${label}`;
        await manager.run(async (tx) => {
          await enqueueOf(tx)(channel, message(id('before')));
          await rejectionOf(
            savepointOf(tx)(async (nested) => {
              await enqueueOf(nested)(channel, message(id('failed-nested')));
              throw new PlannedFailure('nested failed');
            }),
          );
          await savepointOf(tx)((nested) => enqueueOf(nested)(channel, message(id('resolved-nested'))));
          await enqueueOf(tx)(channel, message(id('after')));
        }, RUN);
        const expected = [id('before'), id('resolved-nested'), id('after')];
        await waitFor(
          async () => (await sentIds(channel)).length >= expected.length,
          `3 messages on ${channel}`,
          waitMs,
        );
        await sleep(settleMs);
        expect(await sentIds(channel)).toEqual(expected);
      });
    }
  });
};

import type { MessageHandler } from '@finaegis/core';
import { sleep } from '../runner';
import type { TransportContractGroup } from './harness';
import { define, Inbox, message, sendAll } from './scope';

export const close: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('close', () => {
    test('Subscription.close stops taking, waits for the handler in flight, acks it, and is idempotent', async (scope) => {
      const transport = await scope.transport();
      const group = scope.group();
      const held = scope.held();
      const subscription = await scope.consume(transport, held.handler, { group });
      const first = message(1);
      await transport.send(scope.channel, first);
      await scope.wait(() => held.started === 1, 'the handler to start');
      let closed = false;
      const closing = Promise.all([subscription.close(), subscription.close()]).then(() => {
        closed = true;
      });
      await scope.settle();
      runner.expect(closed).toBe(false);
      held.release();
      await closing;
      runner.expect(held.finished).toBe(1);
      await subscription.close();
      // The closed consumer takes nothing more; the handled message was acked, so a new consumer
      // of the group sees only the next one.
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group });
      const second = message(2);
      await transport.send(scope.channel, second);
      await scope.wait(() => inbox.has(second.id), 'the next message at the new consumer');
      await scope.settle();
      runner.expect(inbox.received.map((m) => m.id)).toEqual([second.id]);
      runner.expect(held.started).toBe(1);
    });

    test('Transport.close waits for the handlers in flight and is idempotent', async (scope) => {
      const transport = await scope.transport();
      const held = scope.held();
      await scope.consume(transport, held.handler, { group: scope.group(), concurrency: 3 });
      await sendAll(transport, scope.channel, [message(1), message(2), message(3)]);
      await scope.wait(() => held.started === 3, 'three handlers to start');
      let closed = false;
      const closing = Promise.all([transport.close(), transport.close()]).then(() => {
        closed = true;
      });
      await scope.settle();
      runner.expect(closed).toBe(false);
      held.release();
      await closing;
      runner.expect(held.finished).toBe(3);
      await transport.close();
    });

    test('nothing is lost across closing a consumer and subscribing again', async (scope) => {
      const transport = await scope.transport();
      const group = scope.group();
      const handled = new Set<string>();
      const handler: MessageHandler = async (m) => {
        await sleep(1);
        handled.add(m.id);
      };
      const first = await scope.consume(transport, handler, { group });
      const before = Array.from({ length: scope.count(60) }, (_, i) => message(i));
      await sendAll(transport, scope.channel, before);
      await scope.wait(() => handled.size >= 10, 'some messages before closing');
      await first.close();
      const between = Array.from({ length: scope.count(20) }, (_, i) => message(1_000 + i));
      await sendAll(transport, scope.channel, between);
      const sender = await scope.transport();
      const resubscribed = await scope.transport();
      await scope.consume(resubscribed, handler, { group, concurrency: 4 });
      const after = Array.from({ length: scope.count(20) }, (_, i) => message(2_000 + i));
      await sendAll(sender, scope.channel, after);
      const all = [...before, ...between, ...after];
      await scope.wait(
        () => all.every((m) => handled.has(m.id)),
        () => `all ${all.length} messages (got ${handled.size})`,
      );
      runner.expect(handled.size).toBe(all.length);
    });

    test('sends called before close() each resolve or reject, none hangs; with persistent, each resolved one reaches a new transport', async (scope) => {
      const transport = await scope.transport();
      const sent = Array.from({ length: scope.count(50) }, (_, i) => message(i));
      const outcomes = sent.map((m) =>
        transport.send(scope.channel, m).then(
          () => 'resolved' as const,
          () => 'rejected' as const,
        ),
      );
      await transport.close();
      const hung = sleep(scope.settings.waitMs).then(() => 'hung' as const);
      const ended = await Promise.all(outcomes.map((outcome) => Promise.race([outcome, hung])));
      runner.expect(ended.filter((outcome) => outcome === 'hung')).toHaveLength(0);
      if (!harness.features.persistent) return;
      // Every send that resolved was accepted: a transport made after the close (another process)
      // must deliver it.
      const accepted = sent.filter((_, i) => ended[i] === 'resolved');
      const inbox = new Inbox();
      await scope.consume(await scope.transport(), inbox.handler, { group: scope.group(), concurrency: 4 });
      await scope.wait(
        () => accepted.every((m) => inbox.has(m.id)),
        () => `the ${accepted.length} sends that resolved (got ${inbox.ids().size})`,
      );
    });
  });
};

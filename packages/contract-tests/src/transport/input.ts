import type { Transport, TransportMessage } from '@finaegis/core';
import type { TransportContractGroup } from './harness';
import { define, Inbox, message } from './scope';

/** How a call with bad input ended: `InvalidArgumentError(<argument>)`, or what happened instead. */
async function refusalOf(call: () => Promise<unknown>): Promise<string> {
  let pending: Promise<unknown>;
  try {
    pending = call();
  } catch (error) {
    return `a synchronous throw of ${(error as Error)?.name}`;
  }
  return Promise.resolve(pending).then(
    (value) => {
      void (value as { close?: () => Promise<void> } | undefined)?.close?.().catch(() => {});
      return 'resolved';
    },
    (error: unknown) => {
      const { name, argument } = error as { name?: string; argument?: unknown };
      return `${String(name)}(${String(argument)})`;
    },
  );
}

export const input: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('bad input', () => {
    test('an empty channel is refused with InvalidArgumentError naming the channel, by send and consume', async (scope) => {
      const transport = await scope.transport();
      runner
        .expect(await refusalOf(() => transport.send('', message(1))))
        .toBe('InvalidArgumentError(channel)');
      runner
        .expect(await refusalOf(() => transport.consume('', async () => {}, { group: scope.group() })))
        .toBe('InvalidArgumentError(channel)');
    });

    test('a message whose body is not a string is refused with InvalidArgumentError naming message.body, and not sent', async (scope) => {
      const transport: Transport = await scope.transport();
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group: scope.group() });
      const bad = { ...message(1), body: { not: 'a string' } } as unknown as TransportMessage;
      runner
        .expect(await refusalOf(() => transport.send(scope.channel, bad)))
        .toBe('InvalidArgumentError(message.body)');
      const good = message(2);
      await transport.send(scope.channel, good);
      await scope.wait(() => inbox.has(good.id), 'the good message after the refused one');
      await scope.settle();
      runner.expect(inbox.has(bad.id)).toBe(false);
    });
  });
};

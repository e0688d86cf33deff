import type { Transport } from '@finaegis/core';
import type { TransportContractGroup } from './harness';
import { define, errorName, message } from './scope';

/**
 * How a call made after `close()` ended: `rejected with <name>`, `resolved`, or
 * `threw synchronously <name>` (the port wants a rejected promise, never a synchronous throw).
 */
async function outcomeOf(call: () => Promise<unknown>): Promise<string> {
  let pending: Promise<unknown>;
  try {
    pending = call();
  } catch (error) {
    return `threw synchronously ${errorName(error)}`;
  }
  return Promise.resolve(pending).then(
    (value) => {
      // A consume that wrongly succeeded must not keep consuming after the test.
      const subscription = value as { close?: () => Promise<void> } | undefined;
      void subscription?.close?.().catch(() => {});
      return 'resolved';
    },
    (error: unknown) => `rejected with ${errorName(error)}`,
  );
}

const CLOSED = 'rejected with TransportClosedError';

/** The methods the port lists, called as a caller would after close; none needs its feature declared. */
const CALLS: ReadonlyArray<
  [string, (transport: Transport, channel: string, group: string) => Promise<unknown>]
> = [
  ['send', (t, channel) => t.send(channel, message(1))],
  ['consume', (t, channel, group) => t.consume(channel, async () => {}, { group })],
  ['deadLetters', (t, channel, group) => t.deadLetters(channel, { group })],
  ['redrive', (t, channel, group) => t.redrive(channel, { group })],
  ['depth', (t, channel, group) => t.depth(channel, { group })],
];

export const afterClose: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('after close', () => {
    for (const [method, call] of CALLS) {
      test(`${method}() after close() rejects with TransportClosedError, whatever the features declared`, async (scope) => {
        const transport = await scope.transport();
        const group = scope.group();
        // Used before closing, so that a transport that opens lazily has something to close.
        await transport.send(scope.channel, message(0));
        await transport.close();
        runner.expect(await outcomeOf(() => call(transport, scope.channel, group))).toBe(CLOSED);
      });
    }

    test('features and name stay readable after close(), and a second close() resolves', async (scope) => {
      const transport = await scope.transport();
      await transport.close();
      runner.expect(transport.name).toBe(transport.name);
      runner.expect(typeof transport.name).toBe('string');
      runner.expect({ ...transport.features }).toEqual({ ...harness.features });
      runner.expect(await outcomeOf(() => transport.close())).toBe('resolved');
    });
  });
};

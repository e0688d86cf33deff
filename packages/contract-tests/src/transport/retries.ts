import type { ReceivedMessage } from '@finaegis/core';
import { PlannedFailure } from '../errors/planned-failure';
import type { TransportContractGroup } from './harness';
import { define, message } from './scope';

export const retries: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('retries', () => {
    test('a handler that fails twice then succeeds is retried and sees attempts 1, 2, 3', async (scope) => {
      const transport = await scope.transport();
      const attempts: number[] = [];
      const ids: string[] = [];
      let done = false;
      await scope.consume(
        transport,
        async (m) => {
          attempts.push(m.attempt);
          ids.push(m.id);
          if (m.attempt < 3) throw new PlannedFailure(`transient failure ${m.attempt}`);
          done = true;
        },
        { group: scope.group(), retry: { attempts: 5, backoff: { type: 'fixed', delayMs: 20 } } },
      );
      const sent = message(1);
      await transport.send(scope.channel, sent);
      await scope.wait(
        () => done,
        () => `the third attempt (attempts so far: ${attempts.join(', ')})`,
      );
      await scope.settle();
      runner.expect(attempts).toEqual([1, 2, 3]);
      runner.expect(ids).toEqual([sent.id, sent.id, sent.id]);
    });

    test('an error with retryable === false is not retried, and the consumer goes on', async (scope) => {
      const transport = await scope.transport();
      const group = scope.group();
      const permanent = message(1);
      const after = message(2);
      const calls: ReceivedMessage[] = [];
      await scope.consume(
        transport,
        async (m) => {
          calls.push(m);
          if (m.id === permanent.id)
            throw Object.assign(new PlannedFailure('permanent failure'), { retryable: false });
        },
        { group, retry: { attempts: 5, backoff: { type: 'fixed', delayMs: 10 } } },
      );
      await transport.send(scope.channel, permanent);
      await transport.send(scope.channel, after);
      await scope.wait(() => calls.some((m) => m.id === after.id), 'the message after the failing one');
      if (harness.features.deadLetter) {
        await scope.wait(
          async () => (await transport.deadLetters(scope.channel, { group })).length === 1,
          'the failed message in dead-letter',
        );
        const [letter] = await transport.deadLetters(scope.channel, { group });
        runner.expect(letter?.attempts).toBe(1);
        runner.expect(letter?.message.id).toBe(permanent.id);
        runner.expect(letter?.error.message).toContain('permanent failure');
      }
      await scope.settle();
      runner.expect(calls.filter((m) => m.id === permanent.id)).toHaveLength(1);
    });
  });
};

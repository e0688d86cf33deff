import { requireHook } from '../registration';
import type { TransportContractGroup } from './harness';
import { define, FAST_RETRY, Inbox, message } from './scope';

export const decoding: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('decoding', () => {
    test('undecodable input is set aside with MessageDecodeError and the consumer keeps going', async (scope) => {
      const sendRaw = requireHook(harness.name, harness.sendRaw?.bind(harness), 'sendRaw()');
      const transport = await scope.transport();
      const group = scope.group();
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group, retry: FAST_RETRY });
      const raws = ['{ this is not json', '{"hello":"a JSON object that is not a message"}'];
      for (const raw of raws) await sendRaw(scope.channel, raw, transport);
      const good = message(1);
      await transport.send(scope.channel, good);
      await scope.wait(() => inbox.has(good.id), 'the good message after the undecodable ones');
      if (harness.features.deadLetter) {
        await scope.wait(
          async () => (await transport.deadLetters(scope.channel, { group })).length === raws.length,
          'the undecodable input in dead-letter',
        );
        const letters = await transport.deadLetters(scope.channel, { group });
        runner.expect(letters.map((l) => l.message.body).sort()).toEqual([...raws].sort());
        for (const letter of letters) {
          runner.expect(letter.message.type).toBe('');
          runner.expect(letter.error.name).toBe('MessageDecodeError');
          runner.expect(letter.attempts).toBe(1);
        }
      }
      await scope.settle();
      runner.expect(inbox.received.map((m) => m.id)).toEqual([good.id]);
    });
  });
};

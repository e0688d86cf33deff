import { uniqueName } from '../runner';
import type { TransportContractGroup } from './harness';
import { define, Inbox, message, sendAll } from './scope';

export const delivery: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('delivery', () => {
    test('round trip: every message arrives once with id, type, body, headers, key and attempt 1', async (scope) => {
      const transport = await scope.transport();
      const group = scope.group();
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group, concurrency: 4 });
      const count = scope.count(100);
      const sent = Array.from({ length: count }, (_, i) =>
        message(i, i % 2 === 0 ? { key: `key-${i % 7}` } : {}),
      );
      await sendAll(transport, scope.channel, sent);
      await scope.wait(
        () => inbox.received.length >= count,
        () => `${count} messages (got ${inbox.received.length})`,
      );
      await scope.settle();
      runner.expect(inbox.duplicates()).toEqual([]);
      const byId = new Map(inbox.received.map((m) => [m.id, m]));
      for (const m of sent) {
        const got = byId.get(m.id);
        runner.expect(got).toBeDefined();
        runner.expect({ type: got?.type, body: got?.body, headers: got?.headers, key: got?.key }).toEqual({
          type: m.type,
          body: m.body,
          headers: m.headers,
          key: m.key,
        });
        runner.expect({ channel: got?.channel, group: got?.group, attempt: got?.attempt }).toEqual({
          channel: scope.channel,
          group,
          attempt: 1,
        });
      }
    });

    test('payload and headers arrive byte for byte: unicode, nested JSON, empty and 256 KiB bodies', async (scope) => {
      const transport = await scope.transport();
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group: scope.group() });
      const nested = {
        amount: '12345678901234567890.000000001',
        text: 'Zażółć gęślą jaźń — 価格 💶 \u0000 \u2028 "quoted" \\ back',
        deep: { list: [1, 'two', { three: [null, true, false] }], empty: {} },
      };
      const big = 'x'.repeat(256 * 1024 - 7) + 'ż€💶';
      const sent = [
        message(1, { body: JSON.stringify(nested), headers: { 'x-ünicode': 'wert € 💶', empty: '' } }),
        message(2, { body: big, headers: {} }),
        message(3, { body: '', headers: { 'content-type': 'text/plain; charset=utf-8' } }),
        message(4, {
          type: 'contract.Ünïcode.Type',
          body: '  leading and trailing spaces  ',
          key: 'ключ-🔑',
        }),
      ];
      await sendAll(transport, scope.channel, sent);
      await scope.wait(() => inbox.ids().size >= sent.length, 'the four messages');
      for (const m of sent) {
        const got = inbox.received.find((r) => r.id === m.id);
        runner.expect({ type: got?.type, body: got?.body, headers: got?.headers, key: got?.key }).toEqual({
          type: m.type,
          body: m.body,
          headers: m.headers,
          key: m.key,
        });
      }
      runner.expect(inbox.received.find((r) => r.id === sent[1]!.id)?.body.length).toBe(big.length);
    });

    test('50 concurrent senders × 100 messages: each received exactly once', async (scope) => {
      const transport = await scope.transport();
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group: scope.group(), concurrency: 16 });
      const senders = 50;
      const perSender = scope.count(100);
      const total = senders * perSender;
      await Promise.all(
        Array.from({ length: senders }, async (_, s) => {
          for (let i = 0; i < perSender; i++) {
            await transport.send(scope.channel, message(s * perSender + i));
          }
        }),
      );
      await scope.wait(
        () => inbox.received.length >= total,
        () => `${total} messages (got ${inbox.received.length})`,
      );
      await scope.settle();
      runner.expect(inbox.duplicates()).toEqual([]);
      runner.expect(inbox.ids().size).toBe(total);
    });

    test('channels are isolated from each other', async (scope) => {
      const transport = await scope.transport();
      const other = uniqueName('contract');
      const mine = new Inbox();
      const theirs = new Inbox();
      await scope.consume(transport, mine.handler, { group: scope.group() });
      await scope.consume(transport, theirs.handler, { group: scope.group() }, other);
      const forMine = Array.from({ length: 10 }, (_, i) => message(i));
      const forTheirs = Array.from({ length: 10 }, (_, i) => message(100 + i));
      await Promise.all([sendAll(transport, scope.channel, forMine), sendAll(transport, other, forTheirs)]);
      await scope.wait(
        () => mine.ids().size >= 10 && theirs.ids().size >= 10,
        'ten messages on each channel',
      );
      await scope.settle();
      runner.expect([...mine.ids()].sort()).toEqual(forMine.map((m) => m.id).sort());
      runner.expect([...theirs.ids()].sort()).toEqual(forTheirs.map((m) => m.id).sort());
      runner.expect(mine.received.every((m) => m.channel === scope.channel)).toBe(true);
      runner.expect(theirs.received.every((m) => m.channel === other)).toBe(true);
    });

    test('messages sent before any consumer exists are delivered to the first group that consumes', async (scope) => {
      const transport = await scope.transport();
      const sent = Array.from({ length: scope.count(20) }, (_, i) => message(i));
      await sendAll(transport, scope.channel, sent);
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group: scope.group(), concurrency: 4 });
      await scope.wait(
        () => inbox.ids().size >= sent.length,
        () => `${sent.length} messages sent before the consumer (got ${inbox.ids().size})`,
      );
      runner.expect([...inbox.ids()].sort()).toEqual(sent.map((m) => m.id).sort());
    });

    test('consume resolves once the consumer is ready: a message sent right after it is received', async (scope) => {
      const transport = await scope.transport();
      // The channel already has a group, so a later group gets no messages sent before it joined:
      // only a consumer that is really ready when consume() resolves receives the next send.
      const first = new Inbox();
      await scope.consume(transport, first.handler, { group: scope.group() });
      const rounds = harness.features.consumerGroups ? 3 : 1;
      for (let round = 0; round < rounds; round++) {
        const inbox = round === 0 ? first : new Inbox();
        if (round > 0) await scope.consume(await scope.transport(), inbox.handler, { group: scope.group() });
        const next = message(round);
        await transport.send(scope.channel, next);
        await scope.wait(
          () => inbox.has(next.id),
          `the message sent right after consume() (round ${round + 1})`,
        );
      }
    });
  });
};

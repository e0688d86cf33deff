import { PlannedFailure } from '../errors/planned-failure';
import type { TransportContractGroup } from './harness';
import { define, FAST_RETRY, Inbox, message, sendAll, whenFeature } from './scope';

export const deadLetter: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const names = [
    'a message that always fails is dead-lettered after the configured attempts while others keep flowing',
    're-driving gives a dead letter another full set of attempts',
    're-driving by id re-drives only those dead letters',
    'a re-driven message keeps its id, key and headers',
  ];
  whenFeature(harness, 'deadLetter', names, () => {
    runner.describe('dead letters', () => {
      test(names[0]!, async (scope) => {
        const transport = await scope.transport();
        const group = scope.group();
        const poison = message(0, { type: 'contract.Poison', headers: { reason: 'always fails ✗' } });
        const good = Array.from({ length: scope.count(20) }, (_, i) => message(i + 1));
        const poisonAttempts: number[] = [];
        const handled = new Set<string>();
        await scope.consume(
          transport,
          async (m) => {
            if (m.id === poison.id) {
              poisonAttempts.push(m.attempt);
              throw new PlannedFailure(`poison ${m.id}`);
            }
            handled.add(m.id);
          },
          { group, concurrency: 2, retry: FAST_RETRY },
        );
        const before = Date.now();
        await transport.send(scope.channel, poison);
        await sendAll(transport, scope.channel, good);
        await scope.wait(() => handled.size >= good.length, 'the good messages');
        await scope.wait(
          async () => (await transport.deadLetters(scope.channel, { group })).length === 1,
          'the poison message in dead-letter',
        );
        const [letter] = await transport.deadLetters(scope.channel, { group });
        runner.expect(letter?.channel).toBe(scope.channel);
        runner.expect(letter?.group).toBe(group);
        runner.expect(letter?.attempts).toBe(3);
        runner.expect({ ...letter?.message }).toEqual({ ...poison });
        runner.expect(letter?.error.name).toBe('PlannedFailure');
        runner.expect(letter?.error.message).toContain(`poison ${poison.id}`);
        runner.expect(letter?.failedAt).toBeGreaterThanOrEqual(before - 1_000);
        runner.expect(letter?.failedAt).toBeLessThanOrEqual(Date.now() + 1_000);
        runner.expect(typeof letter?.id).toBe('string');
        runner.expect(poisonAttempts).toEqual([1, 2, 3]);
        runner.expect(await transport.deadLetters(scope.channel, { group: `${group}-other` })).toEqual([]);
      });

      test(names[1]!, async (scope) => {
        const transport = await scope.transport();
        const group = scope.group();
        const poison = message(0);
        let healed = false;
        const attempts: number[] = [];
        await scope.consume(
          transport,
          async (m) => {
            attempts.push(m.attempt);
            if (!healed) throw new PlannedFailure('still broken');
          },
          { group, retry: FAST_RETRY },
        );
        const letters = async () => transport.deadLetters(scope.channel, { group });
        await transport.send(scope.channel, poison);
        await scope.wait(async () => (await letters()).length === 1, 'the first dead letter');
        runner.expect(await transport.redrive(scope.channel, { group })).toBe(1);
        await scope.wait(
          async () => (await letters()).length === 1 && attempts.length >= 6,
          'dead-lettered again',
        );
        runner.expect(attempts).toEqual([1, 2, 3, 1, 2, 3]);
        runner.expect((await letters())[0]?.attempts).toBe(3);
        healed = true;
        runner.expect(await transport.redrive(scope.channel)).toBe(1);
        await scope.wait(
          async () => attempts.length >= 7 && (await letters()).length === 0,
          'the healed delivery',
        );
        await scope.settle();
        runner.expect(attempts).toEqual([1, 2, 3, 1, 2, 3, 1]);
        runner.expect(await letters()).toEqual([]);
      });

      test(names[2]!, async (scope) => {
        const transport = await scope.transport();
        const group = scope.group();
        const first = message(1);
        const second = message(2);
        const healed = new Set<string>();
        const handled: string[] = [];
        await scope.consume(
          transport,
          async (m) => {
            if (!healed.has(m.id)) throw Object.assign(new PlannedFailure('broken'), { retryable: false });
            handled.push(m.id);
          },
          { group, retry: FAST_RETRY },
        );
        await sendAll(transport, scope.channel, [first, second]);
        const letters = async () => transport.deadLetters(scope.channel, { group });
        await scope.wait(async () => (await letters()).length === 2, 'two dead letters');
        const all = await letters();
        runner.expect(all.map((l) => l.message.id).sort()).toEqual([first.id, second.id].sort());
        runner.expect((await transport.deadLetters(scope.channel, { group, limit: 1 })).length).toBe(1);
        const firstLetter = all.find((l) => l.message.id === first.id)!;
        healed.add(first.id);
        runner.expect(await transport.redrive(scope.channel, { group, ids: [firstLetter.id] })).toBe(1);
        await scope.wait(() => handled.includes(first.id), 'the re-driven message');
        const left = await letters();
        runner.expect(left.map((l) => l.message.id)).toEqual([second.id]);
        runner.expect(handled).toEqual([first.id]);
      });

      test(names[3]!, async (scope) => {
        const transport = await scope.transport();
        const group = scope.group();
        const original = message(1, { key: 'redrive-key', headers: { trace: 'tr-1', 'x-ünicode': '€ 💶' } });
        let healed = false;
        const inbox = new Inbox();
        await scope.consume(
          transport,
          async (m) => {
            if (!healed) throw Object.assign(new PlannedFailure('broken'), { retryable: false });
            await inbox.handler(m);
          },
          { group, retry: FAST_RETRY },
        );
        await transport.send(scope.channel, original);
        const letters = async () => transport.deadLetters(scope.channel, { group });
        await scope.wait(async () => (await letters()).length === 1, 'the dead letter');
        healed = true;
        runner.expect(await transport.redrive(scope.channel, { group })).toBe(1);
        await scope.wait(() => inbox.has(original.id), 'the re-driven message');
        const [again] = inbox.received;
        runner
          .expect({
            id: again?.id,
            type: again?.type,
            body: again?.body,
            key: again?.key,
            headers: again?.headers,
          })
          .toEqual({
            id: original.id,
            type: original.type,
            body: original.body,
            key: original.key,
            headers: original.headers,
          });
      });
    });
  });
};

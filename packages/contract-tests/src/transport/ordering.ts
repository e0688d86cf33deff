import { sleep } from '../runner';
import type { TransportContractGroup } from './harness';
import { define, message, whenFeature } from './scope';

export const ordering: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const name = 'messages with the same key are handled one at a time in send order (1,000 messages, 10 keys)';
  whenFeature(harness, 'orderingByKey', [name], () => {
    runner.describe('ordering', () => {
      test(name, async (scope) => {
        const transport = await scope.transport();
        const keys = 10;
        const perKey = scope.count(100);
        const seen = new Map<string, number[]>();
        const active = new Map<string, number>();
        let overlaps = 0;
        let handled = 0;
        await scope.consume(
          transport,
          async (m) => {
            const key = m.key ?? '';
            const now = (active.get(key) ?? 0) + 1;
            active.set(key, now);
            if (now > 1) overlaps++;
            const { index } = JSON.parse(m.body) as { index: number };
            // Uneven handling times, so that a transport that does not hold a key's later messages back shows it.
            if (index % 3 === 0) await sleep(1);
            else await Promise.resolve();
            seen.set(key, [...(seen.get(key) ?? []), index]);
            active.set(key, (active.get(key) ?? 1) - 1);
            handled++;
          },
          { group: scope.group(), concurrency: 8 },
        );
        // Each key's messages are sent one after another (so their order is defined), keys side by side.
        await Promise.all(
          Array.from({ length: keys }, async (_, k) => {
            for (let i = 0; i < perKey; i++) {
              await transport.send(scope.channel, message(i, { key: `key-${k}` }));
            }
          }),
        );
        const total = keys * perKey;
        await scope.wait(
          () => handled >= total,
          () => `${total} messages (handled ${handled})`,
        );
        runner.expect(overlaps).toBe(0);
        runner.expect(seen.size).toBe(keys);
        for (const [key, indexes] of seen) {
          runner
            .expect({ key, indexes })
            .toEqual({ key, indexes: Array.from({ length: perKey }, (_, i) => i) });
        }
      });
    });
  });
};

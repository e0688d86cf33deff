// The README's example, run against the real broker (under its own topic prefix).
import type { ReceivedMessage } from '@finaegis/core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createKafkaTransport } from '../src/index';
import { BROKERS, removePrefix, requireKafka, uniquePrefix } from './helpers';

const prefix = uniquePrefix();
beforeAll(requireKafka);
afterAll(() => removePrefix(prefix));

test('the README example runs', async () => {
  const seen: ReceivedMessage[] = [];
  // --- README example (brokers and prefix differ; the handler records instead of logging) ---
  const transport = createKafkaTransport({ brokers: BROKERS.join(','), topicPrefix: `${prefix}exchange.` });

  const subscription = await transport.consume(
    'events',
    async (message) => {
      seen.push(message);
    },
    { group: 'projections', concurrency: 4 },
  );

  await transport.send('events', {
    id: '01J0000000000000000000000',
    type: 'exchange.OrderPlaced',
    body: '{"orderId":"o-1"}',
    headers: {},
    key: 'order-o-1',
  });
  // --- end of the example ---
  for (const deadline = Date.now() + 30_000; seen.length === 0 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await subscription.close();
  await transport.close();
  expect(seen.map((m) => [m.type, m.key, m.attempt])).toEqual([['exchange.OrderPlaced', 'order-o-1', 1]]);
});

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MemoryCacheStore, MemoryTransactionManager, MemoryTransport } from '@finaegis/memory';
import { expect, test } from 'vitest';

// The README's example, as a function so that the test can run it.
async function example(): Promise<string[]> {
  // README example start
  const transport = new MemoryTransport();
  const seen: string[] = [];
  await transport.consume(
    'commands',
    async (message) => void seen.push(`${message.type}#${message.attempt}`),
    {
      group: 'workers',
      concurrency: 4,
      retry: { attempts: 5, backoff: { type: 'exponential', delayMs: 100, maxDelayMs: 5_000 } },
    },
  );
  await transport.send(
    'commands',
    { id: 'm-1', type: 'exchange.PlaceOrder', body: '{"pair":"BTC/USD"}', headers: {} },
    { key: 'account-7', priority: 5, dedupeId: 'order-1' },
  );

  const cache = new MemoryCacheStore();
  await cache.set('query:exchange.OrderBook', 'BTC/USD', { bids: [], asks: [] }, 60);
  const hit = await cache.get('query:exchange.OrderBook', 'BTC/USD'); // { value: { bids: [], asks: [] } }

  const transactions = new MemoryTransactionManager();
  await transactions.run(async (tx) => tx.id, { timeoutMs: 30_000 });

  await transport.close(); // waits for the handler in flight
  await cache.close();
  // README example end
  return [...seen, JSON.stringify(hit)];
}

test('the README example runs', async () => {
  const results = await example();
  expect(results).toEqual(['exchange.PlaceOrder#1', '{"value":{"bids":[],"asks":[]}}']);
});

test('the README shows the example as it is here', () => {
  const source = readFileSync(import.meta.filename, 'utf8');
  const body = source.split('// README example start\n')[1]!.split('  // README example end')[0]!;
  const unindented = body
    .split('\n')
    .map((line) => line.replace(/^ {2}/, ''))
    .join('\n');
  const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
  const imports =
    "import { MemoryCacheStore, MemoryTransactionManager, MemoryTransport } from '@finaegis/memory';";
  expect(readme).toContain(`\`\`\`ts\n${imports}\n\n${unindented.trimEnd()}\n\`\`\``);
});

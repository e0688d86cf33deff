import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createCqrs, silentLogger } from '@finaegis/core';
import {
  createMemoryCacheStore,
  createMemoryEventStore,
  createMemoryTransactionManager,
  createMemoryTransport,
} from '@finaegis/memory';
import { expect, test } from 'vitest';

// The README's example, as a function so that the test can run it.
async function example(): Promise<string[]> {
  // README example start
  const transport = createMemoryTransport();
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

  const cache = createMemoryCacheStore();
  await cache.set('query:exchange.OrderBook', 'BTC/USD', { bids: [], asks: [] }, 60);
  const hit = await cache.get('query:exchange.OrderBook', 'BTC/USD'); // { value: { bids: [], asks: [] } }

  const transactions = createMemoryTransactionManager();
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

// The README's transaction example.
async function transactionExample(): Promise<[number, number, unknown]> {
  // README transaction example start
  const store = createMemoryEventStore();
  const app = createCqrs({ transactionManager: createMemoryTransactionManager(), logger: silentLogger });
  const deposited = {
    eventId: 'e-1',
    type: 'bank.Deposited',
    data: { amount: '5.00' },
    metadata: {},
    occurredAt: Date.now(),
  };

  let inside = 0;
  const failed = app.transaction(async () => {
    await store.append('account-1', [deposited], { expectedVersion: 0 });
    inside = await store.streamVersion('account-1'); // 1: the transaction reads its own append
    throw new Error('a later step fails');
  });
  const error = await failed.catch((e: unknown) => e); // the work's error, rethrown after rollback
  const after = await store.streamVersion('account-1'); // 0: the append went with the rollback
  await app.close();
  // README transaction example end
  return [inside, after, error];
}

test('the README transaction example runs: the rolled-back append is gone', async () => {
  const [inside, after, error] = await transactionExample();
  expect(inside).toBe(1);
  expect(after).toBe(0);
  expect((error as Error).message).toBe('a later step fails');
});

function exampleBody(marker: string): string {
  const source = readFileSync(import.meta.filename, 'utf8');
  const body = source.split(`// ${marker} start\n`)[1]!.split(`  // ${marker} end`)[0]!;
  return body
    .split('\n')
    .map((line) => line.replace(/^ {2}/, ''))
    .join('\n')
    .trimEnd();
}

test('the README shows the examples as they are here', () => {
  const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
  const imports =
    "import { createMemoryCacheStore, createMemoryTransactionManager, createMemoryTransport } from '@finaegis/memory';";
  expect(readme).toContain(`\`\`\`ts\n${imports}\n\n${exampleBody('README example')}\n\`\`\``);
  const transactionImports = [
    "import { createCqrs, silentLogger } from '@finaegis/core';",
    "import { createMemoryEventStore, createMemoryTransactionManager } from '@finaegis/memory';",
  ].join('\n');
  expect(readme).toContain(
    `\`\`\`ts\n${transactionImports}\n\n${exampleBody('README transaction example')}\n\`\`\``,
  );
});

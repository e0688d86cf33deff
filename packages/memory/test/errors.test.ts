import { ConcurrencyError, DuplicateEventError, TransactionTimeoutError } from '@finaegis/core';
import { createMemoryEventStore, createMemoryTransactionManager } from '@finaegis/memory';
import { expect, test } from 'vitest';

test('errors of this package name it in `adapter` and in the message', async () => {
  const store = createMemoryEventStore();
  const event = { eventId: 'e1', type: 'Opened', data: {}, metadata: {}, occurredAt: Date.now() };
  await store.append('s', [event], { expectedVersion: 'no_stream' });
  const conflict = await store.append('s', [], { expectedVersion: 5 }).catch((e: unknown) => e);
  expect(conflict).toBeInstanceOf(ConcurrencyError);
  expect(conflict).toMatchObject({ adapter: '@finaegis/memory', code: 'CONCURRENCY' });
  expect((conflict as Error).message).toMatch(/^\[@finaegis\/memory\] /);
  const duplicate = await store.append('s', [event], { expectedVersion: 'any' }).catch((e: unknown) => e);
  expect(duplicate).toBeInstanceOf(DuplicateEventError);
  expect(duplicate).toMatchObject({ adapter: '@finaegis/memory' });
  const timeout = await createMemoryTransactionManager()
    .run(() => new Promise(() => {}), { timeoutMs: 5 })
    .catch((e: unknown) => e);
  expect(timeout).toBeInstanceOf(TransactionTimeoutError);
  expect(timeout).toMatchObject({ adapter: '@finaegis/memory' });
});

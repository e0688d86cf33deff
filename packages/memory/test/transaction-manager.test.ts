import { AsyncResource } from 'node:async_hooks';
import {
  InvalidArgumentError,
  newId,
  type TransactionContext,
  TransactionTimeoutError,
  UnitOfWorkError,
} from '@finaegis/core';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createMemoryEventStore, createMemoryTransactionManager, type MemoryEventStore } from '../src/index';

afterEach(() => {
  vi.useRealTimers();
});

// Commit, rollback, timeout, isolation and the savepoint rules every adapter owes are checked by
// the contract suite (contract.test.ts); this file keeps what is particular to the memory manager.
describe('MemoryTransactionManager', () => {
  test('runs the work with a context that has an id, a live signal, no client and no outbox', async () => {
    const manager = createMemoryTransactionManager();
    const seen: string[] = [];
    const result = await manager.run(
      async (tx) => {
        seen.push(tx.id);
        expect(tx.client).toBeUndefined();
        expect(tx.enqueue).toBeUndefined();
        expect(tx.signal.aborted).toBe(false);
        return 42;
      },
      { timeoutMs: 1_000 },
    );
    await manager.run(async (tx) => void seen.push(tx.id), { timeoutMs: 1_000 });
    expect(result).toBe(42);
    expect(new Set(seen).size).toBe(2);
    expect(manager.name).toBe('memory');
  });

  test('times out with TransactionTimeoutError, aborting the signal; the late outcome is ignored', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const manager = createMemoryTransactionManager();
    let signal: AbortSignal | undefined;
    let fail!: (e: Error) => void;
    const running = manager.run(
      (tx) => {
        signal = tx.signal;
        return new Promise<void>((_, reject) => {
          fail = reject;
        });
      },
      { timeoutMs: 250 },
    );
    const outcome = running.then(
      () => undefined,
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(249);
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect((error as TransactionTimeoutError).timeoutMs).toBe(250);
    expect((error as Error).name).toBe('TransactionTimeoutError');
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
    // A late failure after the timeout must not surface as an unhandled rejection.
    fail(new Error('too late'));
    await vi.advanceTimersByTimeAsync(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('clears its timer when the work finishes first', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const manager = createMemoryTransactionManager();
    await manager.run(async () => 'done', { timeoutMs: 60_000 });
    expect(vi.getTimerCount()).toBe(0);
  });

  test('refuses a missing or non-positive timeout and a non-function', async () => {
    const manager = createMemoryTransactionManager();
    const refused = (argument: string) =>
      expect.objectContaining({ name: 'InvalidArgumentError', adapter: '@finaegis/memory', argument });
    for (const timeoutMs of [0, -1, Number.NaN]) {
      await expect(manager.run(async () => 1, { timeoutMs })).rejects.toEqual(refused('timeoutMs'));
    }
    await expect(manager.run(async () => 1, {} as { timeoutMs: number })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(manager.run('x' as never, { timeoutMs: 1 })).rejects.toEqual(refused('work'));
    await manager.close();
    await manager.close();
  });
});

const event = (eventId = newId()) => ({
  eventId,
  type: 'test.Happened',
  data: {},
  metadata: {},
  occurredAt: 0,
});
const addresses = (events: readonly { streamId: string; version: number; position: number }[]) =>
  events.map((e) => `${e.streamId}@${e.version}#${e.position}`);

describe('MemoryTransactionManager savepoints with a MemoryEventStore', () => {
  test('a failed savepoint takes back exactly its appends and snapshots; the outer goes on from its own writes', async () => {
    const store = createMemoryEventStore();
    await store.append('committed', [event()], { expectedVersion: 'no_stream' });
    const reused = newId();
    await createMemoryTransactionManager().run(
      async (tx) => {
        await store.append('a', [event()], { expectedVersion: 'no_stream' });
        await store.saveSnapshot({ streamId: 'a', version: 1, state: { outer: true } });
        await tx.savepoint!(async () => {
          await store.append('a', [event(reused), event()], { expectedVersion: 1 });
          await store.append('b', [event()], { expectedVersion: 'no_stream' });
          await store.append('b', [], { expectedVersion: 1 });
          await store.saveSnapshot({ streamId: 'a', version: 3, state: { nested: true } });
          await store.saveSnapshot({ streamId: 'b', version: 1, state: { nested: true } });
          expect(addresses(await store.readAll())).toEqual([
            'committed@1#1',
            'a@1#2',
            'a@2#3',
            'a@3#4',
            'b@1#5',
          ]);
          throw new Error('nested batch failed');
        }).catch(() => undefined);
        expect(addresses(await store.readAll())).toEqual(['committed@1#1', 'a@1#2']);
        expect(await store.streamVersion('a')).toBe(1);
        expect(await store.streamVersion('b')).toBe(0);
        expect(await store.readStream('b')).toEqual([]);
        expect(await store.headPosition()).toBe(2);
        expect((await store.loadSnapshot('a'))?.state).toEqual({ outer: true });
        expect(await store.loadSnapshot('b')).toBeUndefined();
        // The undone event id and versions are free again.
        await store.append('a', [event(reused)], { expectedVersion: 1 });
        await store.append('b', [event()], { expectedVersion: 'no_stream' });
      },
      { timeoutMs: 5_000 },
    );
    expect(addresses(await store.readAll())).toEqual(['committed@1#1', 'a@1#2', 'a@2#3', 'b@1#4']);
    expect((await store.readStream('a'))[1]!.eventId).toBe(reused);
    expect((await store.loadSnapshot('a'))?.state).toEqual({ outer: true });
    expect(await store.loadSnapshot('b')).toBeUndefined();
  });

  test('a resolved savepoint keeps its appends; an outer conflict at commit still drops everything', async () => {
    const store = createMemoryEventStore();
    const error = await createMemoryTransactionManager()
      .run(
        async (tx) => {
          await store.append('shared', [event()], { expectedVersion: 'no_stream' });
          await tx.savepoint!(() => store.append('nested', [event()], { expectedVersion: 'no_stream' }));
          expect(await store.streamVersion('nested')).toBe(1);
          // Another writer commits the same stream first: the whole transaction must fail.
          await writeOutside(store, 'shared');
        },
        { timeoutMs: 5_000 },
      )
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('ConcurrencyError');
    expect(await store.streamVersion('nested')).toBe(0);
    expect(await store.streamVersion('shared')).toBe(1);
  });

  test('work that outlived its savepoint is refused with UnitOfWorkError; the outer still commits', async () => {
    const store = createMemoryEventStore();
    let late: Promise<unknown> | undefined;
    let nestedContext: TransactionContext | undefined;
    await createMemoryTransactionManager().run(
      async (tx) => {
        await tx.savepoint!(async (nested) => {
          nestedContext = nested;
          // Not awaited: runs after the savepoint has been released, still in its async context.
          late = new Promise((resolve) => setTimeout(resolve, 10)).then(() =>
            store.append('late', [event()], { expectedVersion: 'any' }),
          );
        });
        await expect(late).rejects.toBeInstanceOf(UnitOfWorkError);
        await expect(nestedContext!.savepoint!(async () => 1)).rejects.toBeInstanceOf(UnitOfWorkError);
        await store.append('outer', [event()], { expectedVersion: 'no_stream' });
      },
      { timeoutMs: 5_000 },
    );
    expect(await store.streamVersion('late')).toBe(0);
    expect(await store.streamVersion('outer')).toBe(1);
  });

  test('a savepoint still running when the outer times out writes nothing, before or after', async () => {
    const store = createMemoryEventStore();
    let lateError: unknown;
    const error = await createMemoryTransactionManager()
      .run(
        (tx) =>
          tx.savepoint!(async (nested) => {
            await store.append('timed-out', [event()], { expectedVersion: 'no_stream' });
            await new Promise((resolve) => nested.signal.addEventListener('abort', resolve, { once: true }));
            lateError = await store
              .append('timed-out', [event()], { expectedVersion: 'any' })
              .catch((e: unknown) => e);
          }),
        { timeoutMs: 50 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    await vi.waitFor(() => expect(lateError).toBeInstanceOf(UnitOfWorkError));
    expect(await store.streamVersion('timed-out')).toBe(0);
  });
});

/** Appends from outside every transaction (bound to this module's context), as another process. */
const writeOutside = AsyncResource.bind((store: MemoryEventStore, streamId: string) =>
  store.append(streamId, [event()], { expectedVersion: 'any' }),
);

import { InvalidArgumentError, TransactionTimeoutError } from '@finaegis/core';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { MemoryTransactionManager } from '../src/index';

afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryTransactionManager', () => {
  test('runs the work with a context that has an id, a live signal, no client and no outbox', async () => {
    const manager = new MemoryTransactionManager();
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

  test('rethrows the work error and aborts the signal', async () => {
    const manager = new MemoryTransactionManager();
    const failure = new Error('rolled back');
    let signal: AbortSignal | undefined;
    await expect(
      manager.run(
        async (tx) => {
          signal = tx.signal;
          throw failure;
        },
        { timeoutMs: 1_000 },
      ),
    ).rejects.toBe(failure);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(failure);
  });

  test('a work function that throws synchronously is a rollback too', async () => {
    const manager = new MemoryTransactionManager();
    await expect(
      manager.run(
        (() => {
          throw new Error('sync');
        }) as () => Promise<void>,
        { timeoutMs: 1_000 },
      ),
    ).rejects.toThrow('sync');
  });

  test('times out with TransactionTimeoutError, aborting the signal; the late outcome is ignored', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const manager = new MemoryTransactionManager();
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
    const manager = new MemoryTransactionManager();
    await manager.run(async () => 'done', { timeoutMs: 60_000 });
    expect(vi.getTimerCount()).toBe(0);
  });

  test('refuses a missing or non-positive timeout and a non-function', async () => {
    const manager = new MemoryTransactionManager();
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

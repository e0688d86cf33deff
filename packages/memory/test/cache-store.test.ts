import { ConfigError, InvalidArgumentError } from '@finaegis/core';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createMemoryCacheStore, type MemoryCacheStore } from '../src/index';

const stores: MemoryCacheStore[] = [];
function store(options: ConstructorParameters<typeof MemoryCacheStore>[0] = {}): MemoryCacheStore {
  const s = createMemoryCacheStore(options);
  stores.push(s);
  return s;
}

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

describe('MemoryCacheStore', () => {
  test('an entry is a hit until its TTL has passed, then a miss (lazy expiry on read)', async () => {
    let now = 1_000_000;
    const s = store({ now: () => now, sweepIntervalMs: 0 });
    await s.set('ns', 'k', 'v', 2);
    now += 1_999;
    expect(await s.get('ns', 'k')).toEqual({ value: 'v' });
    now += 1;
    expect(await s.get('ns', 'k')).toBeUndefined();
    expect(s.size).toBe(0);
  });

  test('fractional TTLs are honoured to the millisecond', async () => {
    let now = 0;
    const s = store({ now: () => now, sweepIntervalMs: 0 });
    await s.set('ns', 'k', 1, 0.25);
    now = 249;
    expect(await s.get('ns', 'k')).toEqual({ value: 1 });
    now = 250;
    expect(await s.get('ns', 'k')).toBeUndefined();
  });

  test('counts hits, misses and errors', async () => {
    const s = store();
    await s.set('ns', 'k', null, 60);
    await s.get('ns', 'k');
    await s.get('ns', 'k');
    await s.get('ns', 'missing');
    await expect(s.set('ns', 'k', 1, 0)).rejects.toThrow(InvalidArgumentError);
    await expect(s.get('ns', 7 as unknown as string)).rejects.toThrow(InvalidArgumentError);
    expect(s.stats()).toEqual({ hits: 2, misses: 1, errors: 2 });
  });

  test('refuses TTLs that are not finite and > 0', async () => {
    const s = store();
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '60' as unknown as number]) {
      await expect(s.set('ns', 'k', 1, ttl)).rejects.toSatisfy(
        (error) => error instanceof InvalidArgumentError && error.argument === 'ttlSeconds',
      );
    }
    expect(await s.get('ns', 'k')).toBeUndefined();
  });

  test('keeps values by reference', async () => {
    const s = store();
    const value = { list: [1] };
    await s.set('ns', 'k', value, 60);
    const hit = await s.get('ns', 'k');
    expect(hit?.value).toBe(value);
    value.list.push(2);
    expect((await s.get('ns', 'k'))?.value).toEqual({ list: [1, 2] });
  });

  test('delete of an expired entry reports false', async () => {
    let now = 0;
    const s = store({ now: () => now, sweepIntervalMs: 0 });
    await s.set('ns', 'k', 1, 1);
    now = 5_000;
    expect(await s.delete('ns', 'k')).toBe(false);
    expect(s.size).toBe(0);
  });

  test('sweep drops expired entries that were never read again', async () => {
    let now = 0;
    const s = store({ now: () => now, sweepIntervalMs: 0 });
    await s.set('a', 'short', 1, 1);
    await s.set('a', 'long', 1, 100);
    await s.set('b', 'short', 1, 1);
    now = 1_000;
    s.sweep();
    expect(s.size).toBe(1);
    expect(await s.get('a', 'long')).toEqual({ value: 1 });
  });

  test('the sweep runs on a timer that does not keep the process alive, and stops on close', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const spy = vi.spyOn(globalThis, 'setInterval');
    const s = store({ sweepIntervalMs: 1_000 });
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    await s.set('ns', 'k', 1, 1);
    vi.advanceTimersByTime(1_000);
    expect(s.size).toBe(0);
    await s.close();
    await s.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  test('clear drops a whole namespace at once', async () => {
    const s = store();
    for (let i = 0; i < 1_000; i++) await s.set('big', `k${i}`, i, 60);
    await s.set('other', 'k0', 'kept', 60);
    await s.clear('big');
    expect(s.size).toBe(1);
    expect(await s.get('big', 'k1')).toBeUndefined();
    expect(await s.get('other', 'k0')).toEqual({ value: 'kept' });
  });

  test('bad arguments are InvalidArgumentErrors naming the argument', async () => {
    const s = store();
    const refused = (argument: string) =>
      expect.objectContaining({ name: 'InvalidArgumentError', adapter: '@finaegis/memory', argument });
    await expect(s.get(1 as unknown as string, 'k')).rejects.toEqual(refused('namespace'));
    await expect(s.set('ns', null as unknown as string, 1, 60)).rejects.toEqual(refused('key'));
    await expect(s.delete('ns', 2 as unknown as string)).rejects.toEqual(refused('key'));
    await expect(s.clear(undefined as unknown as string)).rejects.toEqual(refused('namespace'));
    await expect(s.get('ns', 7 as unknown as string)).rejects.toThrow(/^\[@finaegis\/memory\] invalid key/);
  });

  test('bad options are ConfigErrors naming the option', () => {
    const keyOf = (options: ConstructorParameters<typeof MemoryCacheStore>[0]) => {
      try {
        createMemoryCacheStore(options);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).key;
      }
      return undefined;
    };
    expect(keyOf({ sweepIntervalMs: -1 })).toBe('sweepIntervalMs');
    expect(keyOf({ sweepIntervalMs: Number.NaN })).toBe('sweepIntervalMs');
    expect(keyOf({ sweepIntervalMs: '5' as unknown as number })).toBe('sweepIntervalMs');
    expect(keyOf({ now: 5 as unknown as () => number })).toBe('now');
  });
});

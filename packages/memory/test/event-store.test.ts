import { ConcurrencyError, InvalidArgumentError, newId } from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { createMemoryCheckpointStore, createMemoryEventStore } from '../src/index';

const event = (type = 'test.Happened', data: Record<string, unknown> = {}) => ({
  eventId: newId(),
  type,
  data,
  metadata: {},
  occurredAt: Date.now(),
});

describe('MemoryEventStore', () => {
  test('headPosition follows the global position', async () => {
    const store = createMemoryEventStore();
    expect(await store.headPosition()).toBe(0);
    await store.append('a', [event(), event()], { expectedVersion: 0 });
    await store.append('b', [event()], { expectedVersion: 0 });
    expect(await store.headPosition()).toBe(3);
  });

  test('stored events are copies: changing what was appended or read changes nothing', async () => {
    const store = createMemoryEventStore();
    const data = { list: [1, 2] };
    await store.append('a', [event('test.A', data)], { expectedVersion: 0 });
    data.list.push(3);
    const [read] = await store.readStream('a');
    expect(read?.data).toEqual({ list: [1, 2] });
    const list = read!.data.list as number[];
    expect(() => list.push(4)).toThrow(TypeError);
  });

  test('bad input is an InvalidArgumentError naming the argument, not a corrupted stream', async () => {
    const store = createMemoryEventStore();
    const refused = (argument: string) =>
      expect.objectContaining({ name: 'InvalidArgumentError', adapter: '@finaegis/memory', argument });
    await expect(store.append('', [event()], { expectedVersion: 0 })).rejects.toEqual(refused('streamId'));
    await expect(store.append('a', 'x' as never, { expectedVersion: 0 })).rejects.toEqual(refused('events'));
    await expect(
      store.append('a', [event(), { ...event(), occurredAt: Number.NaN }], { expectedVersion: 0 }),
    ).rejects.toThrow(/invalid events\[1\]: occurredAt/);
    await expect(store.append('a', [null as never], { expectedVersion: 0 })).rejects.toEqual(
      refused('events[0]'),
    );
    await expect(store.append('a', [event()], { expectedVersion: -1 })).rejects.toEqual(
      refused('expectedVersion'),
    );
    await expect(store.append('a', [event()], { expectedVersion: 'latest' as never })).rejects.toEqual(
      refused('expectedVersion'),
    );
    const notJson = await store
      .append('a', [event('test.A', { n: 1n })], { expectedVersion: 0 })
      .catch((e: unknown) => e);
    expect(notJson).toBeInstanceOf(InvalidArgumentError);
    expect((notJson as InvalidArgumentError).argument).toBe('events[0].data');
    expect((notJson as Error).cause).toBeInstanceOf(TypeError);
    await expect(store.readStream('a', { fromVersion: 0 })).rejects.toEqual(refused('fromVersion'));
    await expect(store.readStream('a', { limit: -1 })).rejects.toEqual(refused('limit'));
    await expect(store.readAll({ after: 1.5 })).rejects.toEqual(refused('after'));
    await expect(store.streamVersion(3 as never)).rejects.toEqual(refused('streamId'));
    await expect(store.saveSnapshot(null as never)).rejects.toEqual(refused('snapshot'));
    await expect(store.saveSnapshot({ streamId: '', version: 1, state: {} })).rejects.toEqual(
      refused('snapshot.streamId'),
    );
    await expect(store.saveSnapshot({ streamId: 'a', version: -1, state: {} })).rejects.toEqual(
      refused('snapshot.version'),
    );
    await expect(store.loadSnapshot('')).rejects.toEqual(refused('streamId'));
    expect(await store.streamVersion('a')).toBe(0);
    expect(await store.headPosition()).toBe(0);
  });

  test("an 'exists' conflict reports the stream", async () => {
    const store = createMemoryEventStore();
    const error = await store
      .append('ghost', [event()], { expectedVersion: 'exists' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect((error as ConcurrencyError).streamId).toBe('ghost');
  });
});

describe('MemoryCheckpointStore', () => {
  test('starts at 0 and keeps each projection apart', async () => {
    const checkpoints = createMemoryCheckpointStore();
    expect(await checkpoints.load('balances')).toBe(0);
    await checkpoints.save('balances', 42);
    await checkpoints.save('orders', 7);
    expect(await checkpoints.load('balances')).toBe(42);
    expect(await checkpoints.load('orders')).toBe(7);
    await expect(checkpoints.save('balances', -1)).rejects.toSatisfy(
      (error) => error instanceof InvalidArgumentError && error.argument === 'position',
    );
    await expect(checkpoints.save('', 1)).rejects.toSatisfy(
      (error) => error instanceof InvalidArgumentError && error.argument === 'projection',
    );
    expect(await checkpoints.load('balances')).toBe(42);
  });
});

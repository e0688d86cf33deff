import {
  ConfigError,
  InvalidArgumentError,
  MessageDecodeError,
  type ReceivedMessage,
  TransportClosedError,
  type TransportMessage,
} from '@finaegis/core';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  createMemoryBroker,
  createMemoryTransport,
  type MemoryTransport,
  type MemoryTransportOptions,
} from '../src/index';
import { crashMemoryTransport, sendRawToMemoryBroker } from '../src/testing';
import { until } from './helpers';

const open: MemoryTransport[] = [];
function transport(options: MemoryTransportOptions = {}): MemoryTransport {
  const t = createMemoryTransport(options);
  open.push(t);
  return t;
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.splice(0).map((t) => t.close()));
});

let counter = 0;
function message(extra: Partial<TransportMessage> = {}): TransportMessage {
  counter++;
  return { id: `m-${counter}`, type: 'test.Message', body: `{"n":${counter}}`, headers: {}, ...extra };
}

function fakeTime(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
}

describe('MemoryTransport', () => {
  test('declares every feature but persistence', () => {
    expect(transport().features).toEqual({
      delay: true,
      priority: true,
      orderingByKey: true,
      consumerGroups: true,
      deadLetter: true,
      dedupe: true,
      persistent: false,
      depth: true,
    });
  });

  test('the first group takes the backlog; a group created later starts at its creation', async () => {
    const t = transport();
    await t.send('ch', message({ id: 'early' }));
    const first: string[] = [];
    const late: string[] = [];
    await t.consume('ch', async (m) => void first.push(m.id), { group: 'first' });
    await until(() => first.length === 1);
    await t.send('ch', message({ id: 'between' }));
    await until(() => first.length === 2);
    await t.consume('ch', async (m) => void late.push(m.id), { group: 'late' });
    await t.send('ch', message({ id: 'after' }));
    await until(() => first.length === 3 && late.length === 1);
    expect(first).toEqual(['early', 'between', 'after']);
    expect(late).toEqual(['after']);
  });

  test('a group keeps receiving while it has no consumer', async () => {
    const t = transport();
    const sub = await t.consume('ch', async () => {}, { group: 'g' });
    await sub.close();
    await t.send('ch', message({ id: 'kept' }));
    expect(await t.depth('ch', { group: 'g' })).toBe(1);
    const got: string[] = [];
    await t.consume('ch', async (m) => void got.push(m.id), { group: 'g' });
    await until(() => got.length === 1);
    expect(got).toEqual(['kept']);
  });

  test('competing consumers share a backlog round robin and never exceed their concurrency', async () => {
    const t = transport();
    const counts = [0, 0, 0];
    let active = 0;
    let peak = 0;
    for (const index of [0, 1, 2]) {
      await t.consume(
        'ch',
        async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 1));
          counts[index]!++;
          active--;
        },
        { group: 'g', concurrency: 2 },
      );
    }
    for (let i = 0; i < 60; i++) await t.send('ch', message());
    await until(() => counts.reduce((a, b) => a + b) === 60);
    expect(peak).toBeLessThanOrEqual(6);
    for (const count of counts) expect(count).toBeGreaterThan(0);
  });

  test('other keys run concurrently, up to the concurrency, while each key goes one at a time', async () => {
    const t = transport();
    let active = 0;
    let peak = 0;
    const order: string[] = [];
    await t.consume(
      'ch',
      async (m) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 2));
        order.push(m.body);
        active--;
      },
      { group: 'g', concurrency: 4 },
    );
    for (let i = 0; i < 5; i++) {
      for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) {
        await t.send('ch', message({ key, body: `${key}${i}` }));
      }
    }
    await until(() => order.length === 30);
    expect(peak).toBe(4);
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) {
      expect(order.filter((b) => b.startsWith(key))).toEqual([0, 1, 2, 3, 4].map((i) => `${key}${i}`));
    }
  });

  test('a long line behind one key keeps its order', async () => {
    const t = transport();
    const seen: number[] = [];
    await t.consume('ch', async (m) => void seen.push(Number(m.body)), { group: 'g', concurrency: 8 });
    // Sent in one go, so that the whole line forms before the first handler runs.
    await Promise.all(
      Array.from({ length: 3_000 }, (_, i) => t.send('ch', message({ body: String(i) }), { key: 'hot' })),
    );
    expect(await t.depth('ch', { group: 'g' })).toBeGreaterThan(2_000);
    await until(() => seen.length === 3_000);
    expect(seen).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
  });

  test('a key waits for its failed message to be retried before the next one goes', async () => {
    const t = transport();
    const seen: string[] = [];
    await t.consume(
      'ch',
      async (m) => {
        seen.push(`${m.body}#${m.attempt}`);
        if (m.body === 'first' && m.attempt === 1) throw new Error('once');
      },
      { group: 'g', concurrency: 4, retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 20 } } },
    );
    await t.send('ch', message({ body: 'first' }), { key: 'k' });
    await t.send('ch', message({ body: 'second' }), { key: 'k' });
    await until(() => seen.length === 3);
    expect(seen).toEqual(['first#1', 'first#2', 'second#1']);
  });

  test('within a key, send order wins over priority; priority orders the keys', async () => {
    const t = transport();
    const seen: string[] = [];
    let release!: () => void;
    const blocked = new Promise<void>((r) => {
      release = r;
    });
    await t.consume(
      'ch',
      async (m) => {
        if (m.body === 'blocker') await blocked;
        else seen.push(m.body);
      },
      { group: 'g' },
    );
    await t.send('ch', message({ body: 'blocker' }));
    await t.send('ch', message({ body: 'k-low' }), { key: 'k', priority: 1 });
    await t.send('ch', message({ body: 'k-high' }), { key: 'k', priority: 9 });
    await t.send('ch', message({ body: 'j-mid' }), { key: 'j', priority: 5 });
    release();
    await until(() => seen.length === 3);
    expect(seen).toEqual(['j-mid', 'k-low', 'k-high']);
  });

  test('retries back off exponentially and the handler sees the attempt', async () => {
    fakeTime();
    const t = transport();
    const attempts: Array<[number, number]> = [];
    const start = Date.now();
    await t.consume(
      'ch',
      async (m) => {
        attempts.push([m.attempt, Date.now() - start]);
        throw new Error('always');
      },
      { group: 'g', retry: { attempts: 4, backoff: { type: 'exponential', delayMs: 100, maxDelayMs: 150 } } },
    );
    await t.send('ch', message());
    await vi.advanceTimersByTimeAsync(99);
    expect(attempts).toEqual([[1, 0]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toEqual([
      [1, 0],
      [2, 100],
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    // 100, then 200 capped at 150, then 150 again.
    expect(attempts).toEqual([
      [1, 0],
      [2, 100],
      [3, 250],
      [4, 400],
    ]);
    const [letter] = await t.deadLetters('ch');
    expect(letter?.attempts).toBe(4);
    expect(letter?.error.message).toBe('always');
  });

  test('the default retry policy makes 3 attempts', async () => {
    fakeTime();
    const t = transport();
    let calls = 0;
    await t.consume(
      'ch',
      async () => {
        calls++;
        throw new Error('no');
      },
      { group: 'g' },
    );
    await t.send('ch', message());
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(3);
    expect(await t.deadLetters('ch', { group: 'g' })).toHaveLength(1);
  });

  test('a handler that throws synchronously fails like one that rejects', async () => {
    const t = transport();
    await t.consume(
      'ch',
      (() => {
        throw Object.assign(new TypeError('sync'), { retryable: false });
      }) as unknown as (m: ReceivedMessage) => Promise<void>,
      { group: 'g' },
    );
    await t.send('ch', message());
    await until(async () => (await t.deadLetters('ch')).length === 1);
    const letters = await t.deadLetters('ch');
    expect(letters[0]?.error.name).toBe('TypeError');
    expect(letters[0]?.attempts).toBe(1);
  });

  test('raw text that is not a message is dead-lettered with MessageDecodeError', async () => {
    const broker = createMemoryBroker();
    const t = transport({ broker });
    const got: string[] = [];
    await t.consume('ch', async (m) => void got.push(m.id), { group: 'g' });
    sendRawToMemoryBroker(broker, 'ch', 'not json');
    sendRawToMemoryBroker(broker, 'ch', JSON.stringify(message({ id: 'raw-but-valid' })));
    await until(() => got.length === 1);
    const letters = await t.deadLetters('ch');
    expect(got).toEqual(['raw-but-valid']);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.message).toMatchObject({ type: '', body: 'not json', headers: {} });
    expect(letters[0]?.error.name).toBe(new MessageDecodeError('x').name);
    broker.close();
  });

  test('redrive of one group leaves the other group alone; unknown channels have nothing', async () => {
    const t = transport();
    for (const group of ['a', 'b']) {
      await t.consume(
        'ch',
        async () => {
          throw Object.assign(new Error('no'), { retryable: false });
        },
        { group },
      );
    }
    await t.send('ch', message());
    await until(async () => (await t.deadLetters('ch')).length === 2);
    const letters = await t.deadLetters('ch');
    expect(letters.map((l) => l.group).sort()).toEqual(['a', 'b']);
    expect(await t.deadLetters('ch', { limit: 0 })).toEqual([]);
    expect(await t.redrive('ch', { group: 'a', ids: [] })).toBe(0);
    expect(await t.redrive('missing')).toBe(0);
    expect(await t.deadLetters('missing')).toEqual([]);
    expect(await t.depth('missing')).toBe(0);
  });

  test('a dedupe id is forgotten after the window', async () => {
    fakeTime();
    const t = transport({ dedupeWindowMs: 1_000 });
    const got: string[] = [];
    await t.consume('ch', async (m) => void got.push(m.id), { group: 'g' });
    await t.send('ch', message({ id: 'one' }), { dedupeId: 'd' });
    await t.send('ch', message({ id: 'two' }), { dedupeId: 'd' });
    await vi.advanceTimersByTimeAsync(1_000);
    await t.send('ch', message({ id: 'three' }), { dedupeId: 'd' });
    await vi.advanceTimersByTimeAsync(1);
    expect(got).toEqual(['one', 'three']);
  });

  test('dedupe ids are per channel', async () => {
    const t = transport();
    await t.send('a', message({ id: 'x' }), { dedupeId: 'same' });
    await t.send('b', message({ id: 'y' }), { dedupeId: 'same' });
    expect(await t.depth('a')).toBe(1);
    expect(await t.depth('b')).toBe(1);
  });

  test('depth counts the backlog, delayed, keyed and in-flight messages; without a group, the deepest', async () => {
    const t = transport();
    await t.send('ch', message());
    await t.send('ch', message(), { delayMs: 60_000 });
    expect(await t.depth('ch')).toBe(2);
    expect(await t.depth('ch', { group: 'future' })).toBe(2);
    let release!: () => void;
    const blocked = new Promise<void>((r) => {
      release = r;
    });
    const sub = await t.consume('ch', () => blocked, { group: 'slow' });
    await t.send('ch', message(), { key: 'k' });
    await t.send('ch', message(), { key: 'k' });
    expect(await t.depth('ch', { group: 'slow' })).toBe(4);
    await t.consume('ch', async () => {}, { group: 'fast' });
    expect(await t.depth('ch', { group: 'fast' })).toBe(0);
    expect(await t.depth('ch')).toBe(4);
    expect(await t.depth('ch', { group: 'nobody' })).toBe(0);
    release();
    await sub.close();
  });

  test('a delayed message waits for its time, even when a timer fires early', async () => {
    fakeTime();
    const t = transport();
    const got: number[] = [];
    const start = Date.now();
    await t.consume('ch', async () => void got.push(Date.now() - start), { group: 'g' });
    await t.send('ch', message(), { delayMs: 500 });
    await vi.advanceTimersByTimeAsync(499);
    expect(got).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(got).toEqual([500]);
  });

  test('a sender changing its message after send does not change what is delivered', async () => {
    const t = transport();
    const headers: Record<string, string> = { a: '1' };
    const got: ReceivedMessage[] = [];
    await t.consume('ch', async (m) => void got.push(m), { group: 'g' });
    await t.send('ch', { id: 'x', type: 't', body: 'b', headers });
    headers.a = 'changed';
    await until(() => got.length === 1);
    expect(got[0]?.headers).toEqual({ a: '1' });
  });

  test('SendOptions.key overrides message.key', async () => {
    const t = transport();
    const got: ReceivedMessage[] = [];
    await t.consume('ch', async (m) => void got.push(m), { group: 'g' });
    await t.send('ch', message({ key: 'own' }), { key: 'override' });
    await until(() => got.length === 1);
    expect(got[0]?.key).toBe('override');
    expect(await t.depth('ch', { group: 'g' })).toBe(0);
  });

  test('after a crash, the abandoned handler cannot ack or fail the redelivered message', async () => {
    const broker = createMemoryBroker();
    const doomed = transport({ broker });
    const survivor = transport({ broker });
    // Reads the group's depth after the survivor has closed (a closed transport refuses to).
    const observer = transport({ broker });
    let fail!: (e: Error) => void;
    await doomed.consume(
      'ch',
      () =>
        new Promise<void>((_, reject) => {
          fail = reject;
        }),
      { group: 'g', retry: { attempts: 1, backoff: { type: 'fixed', delayMs: 0 } } },
    );
    await survivor.send('ch', message({ id: 'held' }));
    await until(() => fail !== undefined);
    await crashMemoryTransport(doomed);
    let release!: () => void;
    const attempts: number[] = [];
    await survivor.consume(
      'ch',
      (m) => {
        attempts.push(m.attempt);
        return new Promise<void>((r) => {
          release = r;
        });
      },
      { group: 'g' },
    );
    await until(() => attempts.length === 1);
    fail(new Error('late'));
    await new Promise((r) => setTimeout(r, 5));
    expect(await survivor.deadLetters('ch')).toEqual([]);
    expect(await survivor.depth('ch', { group: 'g' })).toBe(1);
    release();
    await survivor.close();
    expect(attempts).toEqual([2]);
    expect(await observer.depth('ch', { group: 'g' })).toBe(0);
    await expect(doomed.send('ch', message())).rejects.toThrow(/closed/);
    broker.close();
  });

  test('closing a transport leaves a shared broker and its messages to the others', async () => {
    const broker = createMemoryBroker();
    const a = transport({ broker });
    const b = transport({ broker });
    await a.send('ch', message({ id: 'kept' }));
    await a.close();
    const got: string[] = [];
    await b.consume('ch', async (m) => void got.push(m.id), { group: 'g' });
    await until(() => got.length === 1);
    expect(got).toEqual(['kept']);
    broker.close();
  });

  test('bad input is refused with an InvalidArgumentError naming the argument', async () => {
    const t = transport();
    const refused = (argument: string) =>
      expect.objectContaining({ name: 'InvalidArgumentError', adapter: '@finaegis/memory', argument });
    await expect(t.send('', message())).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(t.send('', message())).rejects.toEqual(refused('channel'));
    await expect(t.send('ch', { ...message(), body: 1 } as unknown as TransportMessage)).rejects.toThrow(
      '[@finaegis/memory] invalid message.body: must be a string, got 1',
    );
    await expect(t.send('ch', { ...message(), id: '' })).rejects.toEqual(refused('message.id'));
    await expect(
      t.send('ch', { ...message(), headers: { a: 1 } } as unknown as TransportMessage),
    ).rejects.toEqual(refused('message.headers'));
    await expect(t.send('ch', { ...message(), key: 7 } as unknown as TransportMessage)).rejects.toEqual(
      refused('message.key'),
    );
    await expect(t.send('ch', message(), { delayMs: -1 })).rejects.toEqual(refused('delayMs'));
    await expect(t.send('ch', message(), { priority: Number.NaN })).rejects.toEqual(refused('priority'));
    await expect(t.send('ch', message(), { dedupeId: '' })).rejects.toEqual(refused('dedupeId'));
    await expect(t.consume('ch', async () => {}, { group: '' })).rejects.toEqual(refused('group'));
    await expect(t.consume('ch', async () => {}, { group: 'g', concurrency: 0 })).rejects.toEqual(
      refused('concurrency'),
    );
    await expect(
      t.consume('ch', async () => {}, {
        group: 'g',
        retry: { attempts: 0, backoff: { type: 'fixed', delayMs: 0 } },
      }),
    ).rejects.toEqual(refused('retry.attempts'));
    await expect(
      t.consume('ch', async () => {}, {
        group: 'g',
        retry: { attempts: 1, backoff: { type: 'linear' as 'fixed', delayMs: 0 } },
      }),
    ).rejects.toEqual(refused('retry.backoff.type'));
    await expect(t.consume('ch', 'nope' as never, { group: 'g' })).rejects.toEqual(refused('handler'));
    await expect(t.depth('')).rejects.toEqual(refused('channel'));
    expect(() => sendRawToMemoryBroker(createMemoryBroker(), 'ch', 5 as unknown as string)).toThrow(
      InvalidArgumentError,
    );
    const badWindow = (() => {
      try {
        createMemoryBroker({ dedupeWindowMs: -5 });
      } catch (error) {
        return error;
      }
    })();
    expect(badWindow).toBeInstanceOf(ConfigError);
    expect((badWindow as ConfigError).key).toBe('dedupeWindowMs');
    expect(await t.depth('ch')).toBe(0);
  });

  test('a closed transport refuses every call with a rejected TransportClosedError; close is idempotent', async () => {
    const t = transport();
    const first = t.close();
    expect(t.close()).toBe(first);
    await first;
    await expect(t.send('ch', message())).rejects.toThrow(
      '[@finaegis/memory] cannot send: the transport is closed',
    );
    await expect(t.consume('ch', async () => {}, { group: 'g' })).rejects.toThrow(TransportClosedError);
    // Rejected promises, not synchronous throws: each call returns before anything is thrown.
    const calls = [t.deadLetters('ch'), t.redrive('ch'), t.depth('ch')];
    for (const call of calls) await expect(call).rejects.toThrow(TransportClosedError);
    expect(t.features.deadLetter).toBe(true);
    expect(t.name).toBe('memory');
  });

  test('closing its own broker cancels delayed deliveries', async () => {
    fakeTime();
    const t = transport();
    const got: string[] = [];
    await t.consume('ch', async (m) => void got.push(m.id), { group: 'g' });
    await t.send('ch', message(), { delayMs: 100 });
    await t.close();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(got).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

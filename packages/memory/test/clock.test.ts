// The broker's clock hook: delays, retry backoff, the dedupe window and dead-letter times measured
// on a clock the test moves by hand, and the activity report `@finaegis/testing` waits on.
import { ConfigError, type TransportMessage } from '@finaegis/core';
import { afterEach, describe, expect, test } from 'vitest';
import {
  createMemoryBroker,
  createMemoryTransport,
  type MemoryClock,
  type MemoryTimer,
  type MemoryTransport,
  realClock,
} from '../src/index';
import { memoryBrokerActivity } from '../src/testing';
import { until } from './helpers';

/** A clock that moves only when told to; `advance` runs the timers that came due, in time order. */
class ManualClock implements MemoryClock {
  #now = Date.UTC(2030, 0, 1);
  #timers: { at: number; seq: number; callback: () => void; cancelled: boolean }[] = [];
  #seq = 0;

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): MemoryTimer {
    const timer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves the time forward, one due timer at a time, letting the work each one starts settle. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers
        .filter((t) => !t.cancelled && t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.callback();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.#now = target;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const open: MemoryTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function transportOn(clock: MemoryClock, options: { dedupeWindowMs?: number } = {}): MemoryTransport {
  const transport = createMemoryTransport({ clock, ...options });
  open.push(transport);
  return transport;
}

let counter = 0;
const message = (): TransportMessage => ({ id: `c-${++counter}`, type: 't', body: '{}', headers: {} });

describe('a memory broker on a clock of its own', () => {
  test('a delayed send is delivered when the clock reaches its time, not before, however long real time runs', async () => {
    const clock = new ManualClock();
    const t = transportOn(clock);
    const got: number[] = [];
    const start = clock.now();
    await t.consume('ch', async () => void got.push(clock.now() - start), { group: 'g' });
    await t.send('ch', message(), { delayMs: 3_600_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(got).toEqual([]);
    await clock.advance(3_599_999);
    expect(got).toEqual([]);
    await clock.advance(1);
    expect(got).toEqual([3_600_000]);
  });

  test('retry backoff is measured on the clock, and the dead letter carries the clock time', async () => {
    const clock = new ManualClock();
    const t = transportOn(clock);
    const attempts: number[] = [];
    const start = clock.now();
    await t.consume(
      'ch',
      async () => {
        attempts.push(clock.now() - start);
        throw new Error('down');
      },
      { group: 'g', retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 60_000 } } },
    );
    await t.send('ch', message());
    await until(() => attempts.length === 1, 'the first attempt');
    await until(() => memoryBrokerActivity(t.broker).groups[0]?.inFlight === 0, 'the first failure');
    expect(memoryBrokerActivity(t.broker).groups[0]).toMatchObject({
      due: 0,
      scheduled: 1,
      nextDueAt: start + 60_000,
    });
    await clock.advance(59_999);
    expect(attempts).toEqual([0]);
    await clock.advance(60_001);
    expect(attempts).toEqual([0, 60_000, 120_000]);
    const [letter] = await t.deadLetters('ch');
    expect(letter?.failedAt).toBe(start + 120_000);
  });

  test('the dedupe window is measured on the clock', async () => {
    const clock = new ManualClock();
    const t = transportOn(clock, { dedupeWindowMs: 10_000 });
    await t.send('ch', message(), { dedupeId: 'd' });
    await t.send('ch', message(), { dedupeId: 'd' });
    expect(await t.depth('ch')).toBe(1);
    await clock.advance(10_000);
    await t.send('ch', message(), { dedupeId: 'd' });
    expect(await t.depth('ch')).toBe(2);
  });

  test('closing the broker cancels the timers it set on the clock', async () => {
    const clock = new ManualClock();
    const t = createMemoryTransport({ clock });
    await t.send('ch', message(), { delayMs: 1_000 });
    await t.consume('ch', async () => {}, { group: 'g' });
    expect(clock.pending).toBe(1);
    await t.close();
    expect(clock.pending).toBe(0);
  });

  test('a broker made on its own takes the clock too; a transport on it uses that clock', async () => {
    const clock = new ManualClock();
    const broker = createMemoryBroker({ clock });
    const t = createMemoryTransport({ broker });
    open.push(t);
    await t.consume('ch', async () => {}, { group: 'g' });
    await t.send('ch', message(), { delayMs: 5_000 });
    expect(memoryBrokerActivity(broker).groups[0]).toMatchObject({
      scheduled: 1,
      nextDueAt: clock.now() + 5_000,
    });
    await clock.advance(5_000);
    expect(memoryBrokerActivity(broker).groups[0]).toMatchObject({ due: 0, scheduled: 0, inFlight: 0 });
    broker.close();
  });

  test('the default is the real clock', async () => {
    expect(realClock.now()).toBeGreaterThanOrEqual(Date.now() - 1);
    const t = transportOn(realClock);
    const got: string[] = [];
    await t.consume('ch', async (m) => void got.push(m.id), { group: 'g' });
    await t.send('ch', { ...message(), id: 'late' }, { delayMs: 5 });
    await until(() => got.length === 1, 'the delayed message');
    expect(got).toEqual(['late']);
  });

  test('a clock without now() and setTimer() is refused naming the option', () => {
    for (const clock of [null, {}, { now: () => 0 }, 'Date.now']) {
      expect(() => createMemoryTransport({ clock: clock as unknown as MemoryClock })).toThrow(ConfigError);
      expect(() => createMemoryBroker({ clock: clock as unknown as MemoryClock })).toThrow(/clock=/);
    }
  });
});

describe('memoryBrokerActivity', () => {
  test('counts due, in-flight, scheduled, key-blocked and unrouted messages per group', async () => {
    const clock = new ManualClock();
    const t = transportOn(clock);
    await t.send('nobody', message());
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await t.consume('ch', () => held, { group: 'slow' });
    await t.send('ch', { ...message(), key: 'k' });
    await t.send('ch', { ...message(), key: 'k' });
    await t.send('ch', message());
    await t.send('ch', message(), { delayMs: 1_000 });
    await until(() => memoryBrokerActivity(t.broker).groups[0]?.inFlight === 1, 'the first delivery');
    expect(memoryBrokerActivity(t.broker)).toEqual({
      unrouted: 1,
      groups: [
        {
          channel: 'ch',
          group: 'slow',
          consumers: 1,
          due: 1,
          inFlight: 1,
          waitingBehindKey: 1,
          scheduled: 1,
          nextDueAt: clock.now() + 1_000,
        },
      ],
    });
    release();
    await until(() => memoryBrokerActivity(t.broker).groups[0]?.due === 0, 'the due messages');
    expect(memoryBrokerActivity(t.broker).groups[0]).toMatchObject({ inFlight: 0, waitingBehindKey: 0 });
  });
});

import { InvalidArgumentError } from '@finaegis/core';
import type { MemoryClock, MemoryTimer } from '@finaegis/memory';

const ADAPTER = '@finaegis/testing';

/**
 * A clock that moves only when told to. Give it to the memory adapters (`createMemoryTransport({
 * clock })`, `createMemoryCacheStore({ now: clock.now })`) or use the one of `createTestApp()`, and
 * delays, retry backoff and cache TTLs pass at once: `await clock.advance(60_000)` runs every
 * timer due in that minute, in time order, and waits for the work each one starts before the next.
 */
export interface TestClock extends MemoryClock {
  /** Milliseconds since the epoch, on this clock. */
  now(): number;
  /** Calls `callback` when the clock is advanced to `delayMs` from now (never synchronously). */
  setTimer(callback: () => void, delayMs: number): MemoryTimer;
  /**
   * Moves the time forward by `ms`: each timer due by then runs at its own time, earliest first, and
   * after each one the clock waits for what it started to settle (the `onSettle` hooks: an app's
   * `idle()`; without hooks, one turn of the event loop), so that a timer set by that work inside the
   * window runs too.
   * @throws InvalidArgumentError for a negative or non-finite `ms`.
   */
  advance(ms: number): Promise<void>;
  /** Moves the time forward to `time` (see `advance`); a time in the past does nothing. */
  advanceTo(time: number | Date): Promise<void>;
  /** When the earliest pending timer is due, or `undefined` when none is pending. */
  nextTimerAt(): number | undefined;
  /** Timers neither run nor cancelled. */
  readonly pendingTimers: number;
  /**
   * Adds work to wait for after each timer runs during `advance` (an app's `idle()`). Returns a
   * function that removes it.
   */
  onSettle(settle: () => Promise<void>): () => void;
}

/** Options of {@link createTestClock}. */
export interface TestClockOptions {
  /** The time the clock starts at (ms since the epoch, or a Date). Default: the real time now. */
  readonly startAt?: number | Date;
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

class ManualClock implements TestClock {
  #now: number;
  #timers: Timer[] = [];
  #seq = 0;
  readonly #settlers = new Set<() => Promise<void>>();
  /** Serialises advances: two callers moving the clock at once would interleave their timers. */
  #moving: Promise<void> = Promise.resolve();

  constructor(startAt: number) {
    this.#now = startAt;
  }

  now = (): number => this.#now;

  setTimer(callback: () => void, delayMs: number): MemoryTimer {
    if (typeof callback !== 'function')
      throw new InvalidArgumentError(ADAPTER, 'callback', 'must be a function');
    const wait = Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
    const timer: Timer = { at: this.#now + wait, seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        this.#timers = this.#timers.filter((t) => t !== timer);
      },
    };
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  nextTimerAt(): number | undefined {
    return this.#earliest()?.at;
  }

  onSettle(settle: () => Promise<void>): () => void {
    if (typeof settle !== 'function') throw new InvalidArgumentError(ADAPTER, 'settle', 'must be a function');
    this.#settlers.add(settle);
    return () => void this.#settlers.delete(settle);
  }

  advance(ms: number): Promise<void> {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      return Promise.reject(
        new InvalidArgumentError(
          ADAPTER,
          'ms',
          `must be a finite number of milliseconds >= 0, got ${String(ms)}`,
        ),
      );
    }
    return this.#queue(() => this.#runUntil(this.#now + ms));
  }

  advanceTo(time: number | Date): Promise<void> {
    const target = time instanceof Date ? time.getTime() : time;
    if (typeof target !== 'number' || !Number.isFinite(target)) {
      return Promise.reject(
        new InvalidArgumentError(ADAPTER, 'time', 'must be a Date or ms since the epoch'),
      );
    }
    return this.#queue(() => this.#runUntil(Math.max(target, this.#now)));
  }

  #queue(work: () => Promise<void>): Promise<void> {
    const run = this.#moving.then(work);
    this.#moving = run.catch(() => undefined);
    return run;
  }

  async #runUntil(target: number): Promise<void> {
    await this.#settle();
    for (;;) {
      const timer = this.#earliest();
      if (timer === undefined || timer.at > target) break;
      this.#timers = this.#timers.filter((t) => t !== timer);
      this.#now = Math.max(this.#now, timer.at);
      timer.callback();
      await this.#settle();
    }
    this.#now = target;
    await this.#settle();
  }

  async #settle(): Promise<void> {
    if (this.#settlers.size === 0) {
      await nextTurn();
      return;
    }
    for (const settle of [...this.#settlers]) await settle();
  }

  #earliest(): Timer | undefined {
    let earliest: Timer | undefined;
    for (const timer of this.#timers) {
      if (
        earliest === undefined ||
        timer.at < earliest.at ||
        (timer.at === earliest.at && timer.seq < earliest.seq)
      )
        earliest = timer;
    }
    return earliest;
  }
}

/** Creates a {@link TestClock}, at the real time now unless `startAt` says otherwise. */
export function createTestClock(options: TestClockOptions = {}): TestClock {
  const start = options.startAt ?? Date.now();
  const ms = start instanceof Date ? start.getTime() : start;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new InvalidArgumentError(ADAPTER, 'startAt', 'must be a Date or ms since the epoch');
  }
  return new ManualClock(ms);
}

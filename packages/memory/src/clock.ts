import { ConfigError } from '@finaegis/core';

/** A timer made by a {@link MemoryClock}. */
export interface MemoryTimer {
  /** Stops the timer; its callback is not called. Cancelling a timer that fired does nothing. */
  cancel(): void;
}

/**
 * Where the memory broker takes the time from: delays, retry backoff and the dedupe window are
 * measured on it. The default is the real clock (`Date.now` and `setTimeout`). A test passes one it
 * moves by hand (as `@finaegis/testing`'s `createTestClock()` does), so that a delay of an hour
 * passes without waiting an hour.
 */
export interface MemoryClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `callback` once, no earlier than `delayMs` milliseconds from now on this clock (a delay
   * of 0 or less: as soon as the clock allows). Must not call it synchronously.
   */
  setTimer(callback: () => void, delayMs: number): MemoryTimer;
}

/** The real clock: `Date.now` and `setTimeout`. */
export const realClock: MemoryClock = Object.freeze({
  now: () => Date.now(),
  setTimer(callback: () => void, delayMs: number): MemoryTimer {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(timer) };
  },
});

/** @internal Checks a `clock` option: the real clock when none is given. */
export function clockOption(clock: MemoryClock | undefined, adapter: string): MemoryClock {
  if (clock === undefined) return realClock;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimer !== 'function'
  ) {
    throw new ConfigError(
      'clock',
      clock === null ? 'null' : typeof clock,
      'an object with now() and setTimer()',
      {
        adapter,
      },
    );
  }
  return clock;
}

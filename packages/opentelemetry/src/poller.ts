import { InvalidArgumentError } from '@finaegis/core';
import type { Observation } from './queue-depth';

const ADAPTER = '@finaegis/opentelemetry';

/** The polling interval of an observer (default 5 s). @throws InvalidArgumentError below 1 ms. */
export function pollInterval(intervalMs = 5000): number {
  if (!Number.isFinite(intervalMs) || intervalMs < 1)
    throw new InvalidArgumentError(
      ADAPTER,
      'intervalMs',
      `must be a number of milliseconds >= 1, got ${String(intervalMs)}`,
    );
  return intervalMs;
}

/**
 * Runs `pollOnce` every `intervalMs` and once at once, never two at a time, so that what a gauge
 * costs the broker or database is bounded by the interval, whatever the scrape rate. `pollOnce`
 * should stop early when `closed()` says so. `onClose` unregisters the gauges' callbacks.
 */
export function pollEvery(
  intervalMs: number,
  pollOnce: (closed: () => boolean) => Promise<void>,
  onClose: () => void,
): Observation {
  let polling: Promise<void> | undefined;
  let closed = false;
  const poll = (): Promise<void> => {
    polling ??= pollOnce(() => closed).finally(() => {
      polling = undefined;
    });
    return polling;
  };
  const timer = setInterval(() => void poll(), intervalMs);
  timer.unref();
  void poll();
  return {
    refresh: async () => {
      // A poll already running may have read some targets before the caller's change: poll again.
      if (polling !== undefined) await polling;
      await poll();
    },
    close() {
      closed = true;
      clearInterval(timer);
      onClose();
    },
  };
}

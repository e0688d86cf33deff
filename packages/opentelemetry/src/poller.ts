import type { Observation } from './queue-depth';

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

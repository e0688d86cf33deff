import { ConfigError } from '../errors/config-error';

/** What a snapshot policy sees after a save. */
export interface SnapshotContext {
  /** Stream version before the save. */
  readonly previousVersion: number;
  /** Stream version after the save. */
  readonly version: number;
}

/** Decides after each save whether the repository also saves a snapshot. */
export interface SnapshotPolicy {
  shouldSnapshot(context: SnapshotContext): boolean;
}

/**
 * A snapshot whenever a save crosses a multiple of `events` (every 100 events: at 100, 200, ...
 * even when one save appends several events at once).
 */
export function snapshotEvery(events: number): SnapshotPolicy {
  if (!Number.isInteger(events) || events < 1) {
    throw new ConfigError('snapshotEvery', events, 'a positive integer number of events');
  }
  return {
    shouldSnapshot: ({ previousVersion, version }) =>
      Math.floor(version / events) > Math.floor(previousVersion / events),
  };
}

/** Never snapshot (snapshots already stored are still used on load). */
export const neverSnapshot: SnapshotPolicy = { shouldSnapshot: () => false };

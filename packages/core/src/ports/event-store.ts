/**
 * The EventStore port: append-only streams of events with optimistic concurrency, read back per
 * stream or all together in one global order, plus snapshots.
 */

import type { HealthCheck } from './health';

/** An event as it is written: its data is JSON-compatible (see `encodeJson` for dates). */
export interface NewEvent {
  /** Unique id of the event (its `eventId`); appending the same id twice to a stream is an error. */
  readonly eventId: string;
  /** The event's wire type. */
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Milliseconds since the epoch. */
  readonly occurredAt: number;
}

/** An event as it is read back. */
export interface StoredEvent extends NewEvent {
  readonly streamId: string;
  /** 1 for the first event of the stream, then 2, 3, ... with no gaps. */
  readonly version: number;
  /**
   * Global position: increases with every append across all streams. A reader that has seen
   * position P never later finds a new event below P (positions follow the order readers see).
   * Positions may have gaps (a store may derive them from a sequence or a transaction id): use
   * them to order and to resume (`readAll({ after })`, checkpoints), not to count events.
   */
  readonly position: number;
}

/**
 * `number`: the stream must be at exactly this version (0 = must not exist yet);
 * `'any'`: no check; `'no_stream'`: same as 0; `'exists'`: the stream must have events.
 */
export type ExpectedVersion = number | 'any' | 'no_stream' | 'exists';

/** What `EventStore.append` resolves to. */
export interface AppendResult {
  /** The stream's version after the append (the version of its last event). */
  readonly version: number;
  /** The global position of the last appended event. */
  readonly position: number;
}

/** An aggregate's state at a stream version, saved so that loading need not replay every event. */
export interface Snapshot {
  readonly streamId: string;
  /** The stream version the state includes. */
  readonly version: number;
  /** JSON-compatible aggregate state. */
  readonly state: unknown;
  /** Snapshot schema/format version chosen by the aggregate. */
  readonly schemaVersion?: number;
}

/**
 * What every event store adapter owes: append-only streams with optimistic concurrency, one
 * global order for `readAll`, and snapshots. `eventStoreContract` of `@finaegis/contract-tests`
 * checks each rule stated on its members.
 */
export interface EventStore {
  readonly name: string;

  /**
   * Appends events to a stream atomically (all or none), if the stream's current version matches
   * `expectedVersion`; otherwise throws `ConcurrencyError` and writes nothing. Of N concurrent
   * appends expecting the same version, exactly one succeeds. Appending no events checks the
   * version only.
   */
  append(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: ExpectedVersion },
  ): Promise<AppendResult>;

  /** A stream's events in version order, from `fromVersion` (inclusive, default 1), at most `limit`. */
  readStream(streamId: string, options?: { fromVersion?: number; limit?: number }): Promise<StoredEvent[]>;

  /**
   * All events in global order with `position > after` (default 0, the start), at most `limit`.
   * Never skips: an event with a position below the last one returned is already returned or
   * will never exist. A store may hold back events that are committed while an earlier position
   * is still in flight, so a short or empty page does not mean nothing will follow.
   */
  readAll(options?: { after?: number; limit?: number }): Promise<StoredEvent[]>;

  /**
   * The global position of the newest event `readAll` would return (0 when empty). Optional:
   * projections use it to report their lag (in positions, which may have gaps) cheaply, and scan
   * forward from their checkpoint without it.
   */
  headPosition?(): Promise<number>;

  /**
   * Optional: a write lock on one stream for the rest of the caller's transaction (the ambient
   * transaction of the store's transaction manager). Waits while another transaction holds it and
   * is released when the transaction commits or rolls back. For hot streams that many processes
   * write: writers take turns instead of losing their appends to `ConcurrencyError` and retrying,
   * which under contention costs more than waiting. Appends still check `expectedVersion`, so a
   * writer that does not lock stays safe. Throws when called outside such a transaction.
   */
  lockStream?(streamId: string): Promise<void>;

  /** A stream's current version (0 when it has no events). */
  streamVersion(streamId: string): Promise<number>;

  /** Saves (replaces) the snapshot of a stream. */
  saveSnapshot(snapshot: Snapshot): Promise<void>;

  /** The latest snapshot of a stream, if any. */
  loadSnapshot(streamId: string): Promise<Snapshot | undefined>;

  /**
   * Optional: whether the store answers now (its database reachable). Resolves within a few seconds
   * and never rejects: a check that could not be made is reported `down` with the reason.
   */
  health?(): Promise<readonly HealthCheck[]>;

  /** Closes connections the store opened itself. Idempotent. */
  close(): Promise<void>;
}

/** Where projections keep how far they have read the global stream. */
export interface CheckpointStore {
  /** The last position a projection has fully applied (0 when it never ran). */
  load(projection: string): Promise<number>;
  /** Saves a projection's position. */
  save(projection: string, position: number): Promise<void>;
}

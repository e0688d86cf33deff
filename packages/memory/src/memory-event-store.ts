import {
  type AppendResult,
  DuplicateEventError,
  type EventStore,
  type ExpectedVersion,
  InvalidArgumentError,
  type NewEvent,
  type Snapshot,
  type StoredEvent,
} from '@finaegis/core';
import { currentStaging, type StagingParticipant } from './staging';
import {
  checkCount,
  checkDuplicates,
  checkExpected,
  checkExpectedVersion,
  checkLimit,
  checkStreamId,
  copyNewEvent,
  deepFreeze,
  jsonCopy,
  restoreEntry,
} from './store-checks';

const ADAPTER = '@finaegis/memory';

/** What one memory transaction has staged in one event store. */
interface StagedWrites {
  /** In the order they were made; global positions are given in this order at commit. */
  readonly appends: StagedAppend[];
  /** Staged events per stream, and their ids, to answer reads and checks without a scan. */
  readonly counts: Map<string, number>;
  readonly eventIds: Map<string, Set<string>>;
  total: number;
  readonly snapshots: Map<string, StagedSnapshot>;
}

interface StagedAppend {
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersion;
  readonly events: readonly NewEvent[];
}

interface StagedSnapshot {
  readonly snapshot: Snapshot;
  /** The stream's committed version when the snapshot was staged. */
  readonly committedVersion: number;
}

/**
 * The in-process event store, the reference implementation of the `EventStore` port: streams,
 * one global order, snapshots. Appends are atomic (every check runs before the first write, with
 * no await in between), so of N concurrent appends expecting the same version exactly one wins.
 *
 * Inside a transaction of a `MemoryTransactionManager` appends and snapshots are staged: that
 * transaction reads them back, others do not until it commits, and the manager writes them all at
 * once at commit after checking the expected versions again (see the README). A savepoint that
 * fails takes back exactly what it staged. Positions and
 * versions read inside the transaction are provisional until then. In any other transaction, or
 * none, writes go straight in.
 *
 * Data, metadata and snapshot state are stored as JSON copies and handed out frozen, so what
 * a test sees is what a database-backed store would give back (a `Date` in `data` comes back
 * as a string unless it went through `encodeJson`, as the repository does).
 */
class MemoryEventStore implements EventStore {
  readonly name = 'memory';
  // A private object, so that committing is not part of the store's public surface.
  readonly #participant: StagingParticipant<StagedWrites> = {
    prepareCommit: (staged) => this.#prepareCommit(staged),
  };
  readonly #streams = new Map<string, StoredEvent[]>();
  readonly #eventIds = new Map<string, Set<string>>();
  readonly #all: StoredEvent[] = [];
  readonly #snapshots = new Map<string, Snapshot>();

  async append(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: ExpectedVersion },
  ): Promise<AppendResult> {
    checkStreamId(streamId);
    if (!Array.isArray(events)) throw new InvalidArgumentError(ADAPTER, 'events', 'must be an array');
    const expected = options?.expectedVersion;
    checkExpectedVersion(expected);
    const copies = events.map(copyNewEvent);
    const staging = currentStaging();
    if (staging !== undefined) {
      const staged = staging.writable(this.#participant, newStagedWrites, 'append');
      const result = this.#stage(staged, streamId, copies, expected);
      staging.undoable(() => unstage(staged, streamId, copies));
      return result;
    }

    const stream = this.#streams.get(streamId);
    const current = stream?.length ?? 0;
    checkExpected(streamId, expected, current);
    checkDuplicates(streamId, copies, this.#eventIds.get(streamId));
    if (copies.length === 0) return { version: current, position: lastPositionOf(stream) };
    // From here on nothing can throw: the append is all or nothing.
    const stored = this.#toStored(streamId, copies, current, this.#all.length);
    this.#write(streamId, stored);
    return { version: current + stored.length, position: this.#all.length };
  }

  async readStream(
    streamId: string,
    options: { fromVersion?: number; limit?: number } = {},
  ): Promise<StoredEvent[]> {
    checkStreamId(streamId);
    const from = checkCount(options.fromVersion ?? 1, 'fromVersion', 1);
    const limit = checkLimit(options.limit);
    const end = limit === undefined ? undefined : from - 1 + limit;
    const stream = this.#streams.get(streamId) ?? [];
    const staged = this.#readableStaged();
    if (staged === undefined || !staged.counts.has(streamId)) return stream.slice(from - 1, end);
    const own = this.#stagedView(staged).filter((event) => event.streamId === streamId);
    return sliceOfBoth(stream, own, from - 1, end);
  }

  async readAll(options: { after?: number; limit?: number } = {}): Promise<StoredEvent[]> {
    // Positions are 1, 2, 3... here, so position p sits at index p - 1.
    const after = checkCount(options.after ?? 0, 'after', 0);
    const limit = checkLimit(options.limit);
    const end = limit === undefined ? undefined : after + limit;
    const staged = this.#readableStaged();
    if (staged === undefined || staged.total === 0) return this.#all.slice(after, end);
    return sliceOfBoth(this.#all, this.#stagedView(staged), after, end);
  }

  async streamVersion(streamId: string): Promise<number> {
    checkStreamId(streamId);
    const committed = this.#streams.get(streamId)?.length ?? 0;
    return committed + (this.#readableStaged()?.counts.get(streamId) ?? 0);
  }

  /** The position of the last event in the store (0 when empty); projectors use it for lag. */
  async headPosition(): Promise<number> {
    return this.#all.length + (this.#readableStaged()?.total ?? 0);
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    if (typeof snapshot !== 'object' || snapshot === null) {
      throw new InvalidArgumentError(ADAPTER, 'snapshot', 'must be an object');
    }
    checkStreamId(snapshot.streamId, 'snapshot.streamId');
    checkCount(snapshot.version, 'snapshot.version', 0);
    const copy: { -readonly [K in keyof Snapshot]: Snapshot[K] } = {
      streamId: snapshot.streamId,
      version: snapshot.version,
      state: snapshot.state === undefined ? undefined : jsonCopy(snapshot.state, 'snapshot.state'),
    };
    if (snapshot.schemaVersion !== undefined) copy.schemaVersion = snapshot.schemaVersion;
    const frozen = deepFreeze(copy);
    const staging = currentStaging();
    if (staging === undefined) {
      this.#snapshots.set(frozen.streamId, frozen);
      return;
    }
    const staged = staging.writable(this.#participant, newStagedWrites, 'saveSnapshot');
    const replaced = staged.snapshots.get(frozen.streamId);
    staged.snapshots.set(frozen.streamId, {
      snapshot: frozen,
      committedVersion: this.#streams.get(frozen.streamId)?.length ?? 0,
    });
    staging.undoable(() => restoreEntry(staged.snapshots, frozen.streamId, replaced));
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    checkStreamId(streamId);
    return this.#readableStaged()?.snapshots.get(streamId)?.snapshot ?? this.#snapshots.get(streamId);
  }

  /** Nothing to release; the data stays readable. */
  async close(): Promise<void> {}

  /**
   * Checks the staged appends against the committed streams, in staging order, and returns the
   * write that makes them visible (see `StagingParticipant`).
   */
  #prepareCommit(staged: StagedWrites): () => void {
    const versions = new Map<string, number>();
    const addedIds = new Map<string, Set<string>>();
    const batches: [string, StoredEvent[]][] = [];
    let position = this.#all.length;
    for (const { streamId, expectedVersion, events } of staged.appends) {
      const current = versions.get(streamId) ?? this.#streams.get(streamId)?.length ?? 0;
      checkExpected(streamId, expectedVersion, current);
      let added = addedIds.get(streamId);
      if (added === undefined) {
        added = new Set();
        addedIds.set(streamId, added);
      }
      // Another transaction may have committed the same event id since it was staged.
      const committedIds = this.#eventIds.get(streamId);
      for (const event of events) {
        if (committedIds?.has(event.eventId) === true || added.has(event.eventId)) {
          throw new DuplicateEventError(streamId, event.eventId, { adapter: ADAPTER });
        }
        added.add(event.eventId);
      }
      const stored = this.#toStored(streamId, events, current, position);
      position += stored.length;
      versions.set(streamId, current + stored.length);
      batches.push([streamId, stored]);
    }
    // A snapshot numbers the events it includes as this transaction saw them; when someone else's
    // append has moved this transaction's own events to later versions, it is dropped (only a
    // speed-up: loading falls back to the events).
    const snapshots: Snapshot[] = [];
    for (const { snapshot, committedVersion } of staged.snapshots.values()) {
      const now = this.#streams.get(snapshot.streamId)?.length ?? 0;
      if (snapshot.version <= committedVersion || now === committedVersion) snapshots.push(snapshot);
    }
    return () => {
      for (const [streamId, stored] of batches) this.#write(streamId, stored);
      for (const snapshot of snapshots) this.#snapshots.set(snapshot.streamId, snapshot);
    };
  }

  #stage(
    staged: StagedWrites,
    streamId: string,
    events: readonly NewEvent[],
    expectedVersion: ExpectedVersion,
  ): AppendResult {
    const current = (this.#streams.get(streamId)?.length ?? 0) + (staged.counts.get(streamId) ?? 0);
    checkExpected(streamId, expectedVersion, current);
    const committedIds = this.#eventIds.get(streamId);
    const stagedIds = staged.eventIds.get(streamId);
    for (const event of events) {
      if (stagedIds?.has(event.eventId) === true)
        throw new DuplicateEventError(streamId, event.eventId, { adapter: ADAPTER });
    }
    checkDuplicates(streamId, events, committedIds);
    // Kept even when empty: its version check is made again at commit.
    staged.appends.push({ streamId, expectedVersion, events });
    if (events.length === 0) {
      const own = this.#stagedView(staged).filter((event) => event.streamId === streamId);
      const position =
        own.length > 0 ? own[own.length - 1]!.position : lastPositionOf(this.#streams.get(streamId));
      return { version: current, position };
    }
    let ids = stagedIds;
    if (ids === undefined) {
      ids = new Set();
      staged.eventIds.set(streamId, ids);
    }
    for (const event of events) ids.add(event.eventId);
    staged.counts.set(streamId, (staged.counts.get(streamId) ?? 0) + events.length);
    staged.total += events.length;
    return { version: current + events.length, position: this.#all.length + staged.total };
  }

  /** The staged events as this transaction reads them, with provisional versions and positions. */
  #stagedView(staged: StagedWrites): StoredEvent[] {
    const versions = new Map<string, number>();
    const view: StoredEvent[] = [];
    let position = this.#all.length;
    for (const { streamId, events } of staged.appends) {
      const current = versions.get(streamId) ?? this.#streams.get(streamId)?.length ?? 0;
      const stored = this.#toStored(streamId, events, current, position);
      position += stored.length;
      versions.set(streamId, current + stored.length);
      view.push(...stored);
    }
    return view;
  }

  #readableStaged(): StagedWrites | undefined {
    return currentStaging()?.readable(this.#participant);
  }

  #toStored(streamId: string, events: readonly NewEvent[], version: number, position: number): StoredEvent[] {
    return events.map((event, index) =>
      Object.freeze({
        streamId,
        version: version + index + 1,
        position: position + index + 1,
        eventId: event.eventId,
        type: event.type,
        data: event.data,
        metadata: event.metadata,
        occurredAt: event.occurredAt,
      }),
    );
  }

  /** Adds checked events to the committed state. Never throws. */
  #write(streamId: string, stored: readonly StoredEvent[]): void {
    let target = this.#streams.get(streamId);
    if (target === undefined) {
      target = [];
      this.#streams.set(streamId, target);
    }
    let ids = this.#eventIds.get(streamId);
    if (ids === undefined) {
      ids = new Set();
      this.#eventIds.set(streamId, ids);
    }
    for (const event of stored) {
      target.push(event);
      ids.add(event.eventId);
      this.#all.push(event);
    }
  }
}

/** Creates an in-process event store (see {@link MemoryEventStore}). */
export function createMemoryEventStore(): MemoryEventStore {
  return new MemoryEventStore();
}

function newStagedWrites(): StagedWrites {
  return { appends: [], counts: new Map(), eventIds: new Map(), total: 0, snapshots: new Map() };
}

/**
 * Takes back the last staged append (`#stage` pushed it), for a failed savepoint. Undo runs
 * newest first, so it is the last entry.
 */
function unstage(staged: StagedWrites, streamId: string, events: readonly NewEvent[]): void {
  staged.appends.pop();
  if (events.length === 0) return;
  const count = (staged.counts.get(streamId) ?? 0) - events.length;
  // Removed rather than kept at 0: reads take `counts.has` to mean "this stream has staged events".
  if (count > 0) staged.counts.set(streamId, count);
  else staged.counts.delete(streamId);
  const ids = staged.eventIds.get(streamId);
  for (const event of events) ids?.delete(event.eventId);
  if (ids?.size === 0) staged.eventIds.delete(streamId);
  staged.total -= events.length;
}

function lastPositionOf(stream: readonly StoredEvent[] | undefined): number {
  return stream === undefined || stream.length === 0 ? 0 : stream[stream.length - 1]!.position;
}

/** `[...first, ...second].slice(start, end)` without copying `first` whole. */
function sliceOfBoth<T>(
  first: readonly T[],
  second: readonly T[],
  start: number,
  end: number | undefined,
): T[] {
  const stop = end ?? first.length + second.length;
  const result = first.slice(start, stop);
  if (stop > first.length)
    result.push(...second.slice(Math.max(0, start - first.length), stop - first.length));
  return result;
}

export type { MemoryEventStore };

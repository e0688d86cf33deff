import {
  ConcurrencyError,
  InvalidArgumentError,
  type ProcessHistoryEntry,
  type ProcessQuery,
  type ProcessRecord,
  type ProcessStatus,
  type ProcessStore,
} from '@finaegis/core';
import { currentStaging, type StagingParticipant } from './staging';
import { checkCount, deepFreeze, jsonCopy } from './store-checks';

const ADAPTER = '@finaegis/memory';

/** One process's writes staged by a transaction. */
interface StagedProcess {
  /** The version the process had when the transaction first wrote it (checked again at commit). */
  readonly baseVersion: number;
  record: ProcessRecord;
  entries: ProcessHistoryEntry[];
}

const keyOf = (processType: string, processId: string) => `${processType}\u0000${processId}`;

/**
 * Processes in Maps. Inside a transaction of a `MemoryTransactionManager` a save is staged and
 * written at commit, after the versions are checked again (a conflict rolls the transaction back
 * with `ConcurrencyError`); the transaction reads its own saves; a rollback drops them.
 */
class MemoryProcessStore implements ProcessStore {
  readonly name = 'memory';
  readonly #records = new Map<string, ProcessRecord>();
  readonly #history = new Map<string, ProcessHistoryEntry[]>();
  readonly #messageIds = new Map<string, Set<string>>();
  readonly #participant: StagingParticipant<Map<string, StagedProcess>> = {
    prepareCommit: (staged) => {
      for (const [key, process] of staged) {
        const current = this.#records.get(key)?.version ?? 0;
        if (current !== process.baseVersion) {
          throw new ConcurrencyError(`process ${key.replace('\u0000', '/')}`, process.baseVersion, current, {
            adapter: ADAPTER,
          });
        }
      }
      return () => {
        for (const [key, process] of staged) this.#write(key, process.record, process.entries);
      };
    },
  };

  async load(processType: string, processId: string): Promise<ProcessRecord | undefined> {
    const key = checkKey(processType, processId);
    return this.#staged()?.get(key)?.record ?? this.#records.get(key);
  }

  async handled(processType: string, processId: string, messageId: string): Promise<boolean> {
    const key = checkKey(processType, processId);
    checkText(messageId, 'messageId');
    return this.#handled(key, messageId);
  }

  #handled(key: string, messageId: string): boolean {
    if (this.#messageIds.get(key)?.has(messageId) === true) return true;
    return (
      this.#staged()
        ?.get(key)
        ?.entries.some((entry) => entry.messageId === messageId) ?? false
    );
  }

  async save(
    record: ProcessRecord,
    entry: ProcessHistoryEntry,
    options: { expectedVersion: number },
  ): Promise<void> {
    const key = checkKey(record?.processType, record?.processId, 'record.');
    const expected = checkCount(options?.expectedVersion, 'expectedVersion', 0);
    checkVersions(record, entry, expected);
    const copy = deepFreeze(jsonCopy(record, 'record'));
    const entryCopy = deepFreeze(jsonCopy(entry, 'entry'));
    const staging = currentStaging();
    const staged = staging?.readable(this.#participant)?.get(key);
    const current = staged?.record.version ?? this.#records.get(key)?.version ?? 0;
    const where = `process ${record.processType}/${record.processId}`;
    if (current !== expected) throw new ConcurrencyError(where, expected, current, { adapter: ADAPTER });
    // No await from the checks to the write: concurrent saves see each other's writes.
    if (entry.messageId !== undefined && this.#handled(key, entry.messageId)) {
      throw new ConcurrencyError(`${where} (message ${entry.messageId} already handled)`, expected, current, {
        adapter: ADAPTER,
      });
    }
    if (staging === undefined) {
      this.#write(key, copy, [entryCopy]);
      return;
    }
    const writes = staging.writable(this.#participant, () => new Map<string, StagedProcess>(), 'save');
    const previous = writes.get(key);
    writes.set(key, {
      baseVersion: previous?.baseVersion ?? current,
      record: copy,
      entries: [...(previous?.entries ?? []), entryCopy],
    });
    staging.undoable(() => {
      if (previous === undefined) writes.delete(key);
      else writes.set(key, previous);
    });
  }

  async history(processType: string, processId: string): Promise<ProcessHistoryEntry[]> {
    const key = checkKey(processType, processId);
    return [...(this.#history.get(key) ?? []), ...(this.#staged()?.get(key)?.entries ?? [])];
  }

  async list(query: ProcessQuery = {}): Promise<ProcessRecord[]> {
    const limit = query.limit === undefined ? 100 : checkCount(query.limit, 'limit', 0);
    const offset = query.offset === undefined ? 0 : checkCount(query.offset, 'offset', 0);
    return this.#all()
      .filter((r) => matches(r, query.processType, query.status))
      .sort(
        (a, b) =>
          b.startedAt - a.startedAt ||
          compare(a.processType, b.processType) ||
          compare(a.processId, b.processId),
      )
      .slice(offset, offset + limit);
  }

  async counts(processType?: string): Promise<Record<ProcessStatus, number>> {
    const counts: Record<ProcessStatus, number> = { running: 0, completed: 0, failed: 0, compensated: 0 };
    for (const record of this.#all()) if (matches(record, processType, undefined)) counts[record.status] += 1;
    return counts;
  }

  /** Nothing to release; present for the port. */
  async close(): Promise<void> {}

  #staged(): Map<string, StagedProcess> | undefined {
    return currentStaging()?.readable(this.#participant);
  }

  /** Committed processes, with this transaction's own saves in their place. */
  #all(): ProcessRecord[] {
    const merged = new Map(this.#records);
    for (const [key, process] of this.#staged() ?? []) merged.set(key, process.record);
    return [...merged.values()];
  }

  #write(key: string, record: ProcessRecord, entries: readonly ProcessHistoryEntry[]): void {
    this.#records.set(key, record);
    const history = this.#history.get(key) ?? [];
    history.push(...entries);
    this.#history.set(key, history);
    const ids = this.#messageIds.get(key) ?? new Set<string>();
    for (const entry of entries) if (entry.messageId !== undefined) ids.add(entry.messageId);
    this.#messageIds.set(key, ids);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function matches(record: ProcessRecord, processType: string | undefined, status: ProcessStatus | undefined) {
  return (
    (processType === undefined || record.processType === processType) &&
    (status === undefined || record.status === status)
  );
}

function checkText(value: unknown, argument: string): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(
      ADAPTER,
      argument,
      `must be a non-empty string, got ${JSON.stringify(value)}`,
    );
  }
}

function checkKey(processType: unknown, processId: unknown, prefix = ''): string {
  checkText(processType, `${prefix}processType`);
  checkText(processId, `${prefix}processId`);
  return keyOf(processType, processId);
}

function checkVersions(record: ProcessRecord, entry: ProcessHistoryEntry, expected: number): void {
  if (record.version !== expected + 1) {
    throw new InvalidArgumentError(
      ADAPTER,
      'record.version',
      `must be expectedVersion + 1 (${expected + 1}), got ${String(record.version)}`,
    );
  }
  if (entry?.version !== record.version) {
    throw new InvalidArgumentError(
      ADAPTER,
      'entry.version',
      `must be the record's version (${record.version}), got ${String(entry?.version)}`,
    );
  }
}

/** Creates an in-process process store (see {@link MemoryProcessStore}). */
export function createMemoryProcessStore(): MemoryProcessStore {
  return new MemoryProcessStore();
}

export type { MemoryProcessStore };

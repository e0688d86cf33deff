import type { ProcessHistoryEntry, ProcessHistoryKind, ProcessRecord, ProcessStatus } from '@finaegis/core';

/* Records and history entries the process store contract saves. */

/** A process record at `version` (1 for a new one). */
export function processRecord(
  processType: string,
  processId: string,
  version: number,
  overrides: Partial<Omit<ProcessRecord, 'processType' | 'processId' | 'version'>> = {},
): ProcessRecord {
  const at = overrides.updatedAt ?? 1_700_000_000_000 + version;
  return {
    processType,
    processId,
    version,
    status: 'running',
    state: { step: version },
    timeouts: {},
    parked: [],
    startedAt: overrides.startedAt ?? 1_700_000_000_000,
    updatedAt: at,
    ...overrides,
  };
}

/** The history entry of `record`, optionally for a message. */
export function entryFor(
  record: ProcessRecord,
  kind: ProcessHistoryKind = record.version === 1 ? 'started' : 'handled',
  messageId?: string,
): ProcessHistoryEntry {
  return {
    version: record.version,
    at: record.updatedAt,
    kind,
    status: record.status,
    ...(messageId === undefined ? {} : { messageId, messageType: 'test.Message' }),
  };
}

/** Saves versions 1..`versions` of a process, each for message `<id>-m<version>`. */
export async function saveVersions(
  store: {
    save(record: ProcessRecord, entry: ProcessHistoryEntry, o: { expectedVersion: number }): Promise<void>;
  },
  processType: string,
  processId: string,
  versions: number,
  last: Partial<Omit<ProcessRecord, 'processType' | 'processId' | 'version'>> = {},
): Promise<ProcessRecord> {
  let record = processRecord(processType, processId, 1);
  for (let version = 1; version <= versions; version++) {
    record = processRecord(processType, processId, version, version === versions ? last : {});
    await store.save(record, entryFor(record, undefined, `${processId}-m${version}`), {
      expectedVersion: version - 1,
    });
  }
  return record;
}

export const STATUSES: readonly ProcessStatus[] = ['running', 'completed', 'failed', 'compensated'];

import type { DomainEvent } from '../messages';
import { messageTypeOf } from '../messages';
import type { MessageRegistry } from '../serialization';
import type { ProcessSpec } from './definition';
import type { ProcessView } from './manager-types';
import type {
  KeptMessage,
  ProcessErrorInfo,
  ProcessFailure,
  ProcessHistoryEntry,
  ProcessHistoryKind,
  ProcessRecord,
  ProcessStatus,
} from './process-store';
import { StepFailure } from './step-failure';
import { liveState, storedState, type Working } from './step-runner';

/* Building the records and history entries a manager saves, so that every path writes them alike. */

/** @internal A working copy of a record (or of a process not started yet). */
export function workingOf(record: ProcessRecord | undefined): Working {
  return {
    state: record === undefined ? undefined : liveState(record.state),
    started: record !== undefined && record.state !== null,
    timeouts: { ...record?.timeouts },
    completed: false,
  };
}

/** @internal A message as a process keeps it (to park it, or as the one that failed). */
export function keep(registry: MessageRegistry, message: DomainEvent): KeptMessage {
  return { id: message.messageId, type: messageTypeOf(message), body: registry.encode(message, 'event') };
}

/** @internal What changes from one version to the next. */
export interface Change {
  readonly status: ProcessStatus;
  readonly working?: Working;
  readonly failure?: ProcessFailure | undefined;
  readonly parked?: readonly KeptMessage[];
}

/**
 * @internal The next version of a process: `base` (or a new process) with `change` applied.
 * @throws StepFailure when a started process has no state (a start handler returned nothing).
 */
export function nextRecord(
  spec: ProcessSpec,
  processId: string,
  base: ProcessRecord | undefined,
  change: Change,
  now: number,
): ProcessRecord {
  const working = change.working;
  let state: unknown = base?.state ?? null;
  if (working !== undefined) {
    state = working.started ? storedState(working.state) : null;
    if (working.started && state === null) {
      throw new StepFailure(
        new TypeError(
          `${spec.processType}: a start handler must return the process state, not null or undefined`,
        ),
      );
    }
  }
  const failure = 'failure' in change ? change.failure : base?.failure;
  const record: ProcessRecord = {
    processType: spec.processType,
    processId,
    status: change.status,
    version: (base?.version ?? 0) + 1,
    state,
    timeouts: working === undefined ? (base?.timeouts ?? {}) : { ...working.timeouts },
    parked: change.parked ?? base?.parked ?? [],
    startedAt: base?.startedAt ?? now,
    updatedAt: now,
  };
  return failure === undefined ? record : { ...record, failure };
}

/** @internal The history entry of a saved version. */
export function entryOf(
  record: ProcessRecord,
  kind: ProcessHistoryKind,
  now: number,
  message?: { readonly id: string; readonly type: string },
  error?: ProcessErrorInfo,
): ProcessHistoryEntry {
  return {
    version: record.version,
    at: now,
    kind,
    status: record.status,
    ...(message === undefined ? {} : { messageId: message.id, messageType: message.type }),
    ...(error === undefined ? {} : { error }),
  };
}

/** @internal */
export function correlationOf(spec: ProcessSpec, event: DomainEvent): string | undefined {
  const handler = spec.starts.get(event.constructor) ?? spec.handlers.get(event.constructor);
  const id = handler?.correlate(event);
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** @internal */
export function view(record: ProcessRecord): ProcessView {
  return { ...record, state: liveState(record.state) };
}

/** @internal History entries keep the error's name and message; the stack stays on the process's failure. */
export function brief(info: { name: string; message: string }): { name: string; message: string } {
  return { name: info.name, message: info.message };
}

/**
 * The ProcessStore port: where process managers keep each running process (its state, its pending
 * timeouts, its failure) and the history of what happened to it.
 *
 * A process is known by its type (the definition's stable name) and its id (the correlation, e.g.
 * a withdrawal id). Every change is a new version, written with an expected version (optimistic
 * concurrency), together with one history entry.
 */

/** Where a process stands. `completed` and `compensated` are terminal: nothing changes them. */
export type ProcessStatus = 'running' | 'completed' | 'failed' | 'compensated';

/** The statuses no message moves a process out of. */
export const TERMINAL_STATUSES: readonly ProcessStatus[] = ['completed', 'compensated'];

/** A message as a process keeps it to handle later (parked, or the one whose step failed). */
export interface KeptMessage {
  /** The message id (stays the same on every redelivery). */
  readonly id: string;
  /** Its wire name. */
  readonly type: string;
  /** The serialised message, as the registry encodes it. */
  readonly body: string;
}

/** An error as a process keeps it: plain text, so it survives any store. */
export interface ProcessErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** Why a process is `failed`. */
export interface ProcessFailure {
  readonly error: ProcessErrorInfo;
  /** The message whose step failed; absent when a manual action (retry, compensate) failed. */
  readonly message?: KeptMessage;
  /** When it failed (ms since the epoch). */
  readonly at: number;
}

/** A timeout a process is waiting for. */
export interface PendingTimeout {
  /** Id of the timeout message: a timeout message with another id is stale and ignored. */
  readonly id: string;
  /** When it is due (ms since the epoch). */
  readonly dueAt: number;
}

/** One process as the store keeps it. JSON-compatible throughout. */
export interface ProcessRecord {
  readonly processType: string;
  readonly processId: string;
  readonly status: ProcessStatus;
  /** 1 after the first save, then 2, 3, ... with no gaps. */
  readonly version: number;
  /** The process's own state (JSON-compatible; `null` before its start step succeeded). */
  readonly state: unknown;
  /** Timeouts it waits for, by name. */
  readonly timeouts: Readonly<Record<string, PendingTimeout>>;
  /** Set while `failed`. */
  readonly failure?: ProcessFailure;
  /** Messages that arrived while it was `failed`, in arrival order; handled when it is retried. */
  readonly parked: readonly KeptMessage[];
  /** When the process started (ms since the epoch). */
  readonly startedAt: number;
  /** When it last changed (ms since the epoch). */
  readonly updatedAt: number;
}

/** What a history entry records. */
export type ProcessHistoryKind =
  | 'started'
  | 'handled'
  | 'timeout'
  | 'parked'
  | 'failed'
  | 'retried'
  | 'compensated';

/** One change of a process. */
export interface ProcessHistoryEntry {
  /** The version this change produced. */
  readonly version: number;
  /** When (ms since the epoch). */
  readonly at: number;
  readonly kind: ProcessHistoryKind;
  /** The status after the change. */
  readonly status: ProcessStatus;
  /**
   * The message the change dealt with. A message id appears at most once in a process's history:
   * it is how a redelivered message is recognised. Manual actions (retry, compensate) have none.
   */
  readonly messageId?: string;
  readonly messageType?: string;
  /** For `failed` entries. */
  readonly error?: ProcessErrorInfo;
}

/** Which processes `list` returns. */
export interface ProcessQuery {
  readonly processType?: string;
  readonly status?: ProcessStatus;
  /** At most this many (default 100). */
  readonly limit?: number;
  /** Skip this many first (default 0). */
  readonly offset?: number;
}

/**
 * What every process store owes. The contract suite (`processStoreContract` in
 * `@finaegis/contract-tests`) checks each rule.
 *
 * - **Transactions.** A store that belongs to a transaction manager (the memory store with the
 *   memory manager, the PostgreSQL store with the PostgreSQL manager) reads and writes inside the
 *   transaction running in the current async context: the transaction sees its own writes, nobody
 *   else sees them before commit, and a rollback leaves nothing. Outside a transaction each call
 *   stands alone.
 * - **Concurrency.** Every method may be called concurrently. Of several saves expecting the same
 *   version of one process, exactly one succeeds; the others fail with `ConcurrencyError`.
 * - **Bad input** rejects with `InvalidArgumentError` naming the argument.
 */
export interface ProcessStore {
  /** Adapter name, e.g. `memory`, `postgres`. */
  readonly name: string;

  /** The process, or `undefined` when it was never saved. */
  load(processType: string, processId: string): Promise<ProcessRecord | undefined>;

  /** Whether a history entry of the process carries `messageId` (the message was dealt with). */
  handled(processType: string, processId: string, messageId: string): Promise<boolean>;

  /**
   * Writes `record` (whose `version` is `expectedVersion + 1`) and appends `entry` (whose
   * `version` is the record's), both or neither. `expectedVersion` 0 creates the process.
   * @throws ConcurrencyError when the process is not at `expectedVersion` (for 0: it exists), or
   *   when `entry.messageId` is already in its history; nothing is written.
   * @throws InvalidArgumentError when the versions do not line up or an id is empty.
   */
  save(
    record: ProcessRecord,
    entry: ProcessHistoryEntry,
    options: { expectedVersion: number },
  ): Promise<void>;

  /** The process's history, oldest first (empty for an unknown process). */
  history(processType: string, processId: string): Promise<ProcessHistoryEntry[]>;

  /** Processes matching the query, most recently started first (then by type and id). */
  list(query?: ProcessQuery): Promise<ProcessRecord[]>;

  /** How many processes there are in each status (of one type, or of all). */
  counts(processType?: string): Promise<Record<ProcessStatus, number>>;

  /** Closes what the store opened itself. Idempotent. */
  close(): Promise<void>;
}

import type { Cqrs } from '../buses/cqrs';
import type { RetryOnConcurrencyOptions } from '../event-sourcing/retry';
import type { AnyProcessDefinition, ProcessDefinition } from './definition';
import type { MessageScheduler } from './message-scheduler';
import type {
  ProcessHistoryEntry,
  ProcessQuery,
  ProcessRecord,
  ProcessStatus,
  ProcessStore,
} from './process-store';
import type { IgnoredReason } from './step-runner';

/** The parts of the app (`createCqrs()`) a process manager works through. */
export type ProcessHost = Pick<
  Cqrs,
  'commandBus' | 'eventBus' | 'transaction' | 'registry' | 'config' | 'logger'
>;

/** Options of `createProcessManager(app, options)`. */
export interface ProcessManagerOptions {
  /** Where processes are kept (memory or PostgreSQL; it must join the app's transactions). */
  readonly store: ProcessStore;
  /** The definitions this manager runs (`defineProcess()`). */
  readonly processes: readonly AnyProcessDefinition[];
  /**
   * Where timeouts wait until due. Default: the transport's own delay (memory, BullMQ). A
   * transport without delay (Kafka) needs one (`createPostgresMessageScheduler`); without it a
   * step that arms a timeout fails with `UnsupportedFeatureError`, and the process shows it.
   */
  readonly scheduler?: MessageScheduler;
  /**
   * How a step that lost a race with another step of the same process (`ConcurrencyError`) is run
   * again: it reloads the process and runs on the newer state. Default 10 attempts.
   */
  readonly concurrency?: RetryOnConcurrencyOptions;
  /** Seconds each step's transaction may take. Default `commandBus.transactionTimeout`. */
  readonly transactionTimeout?: number;
}

/** A process as the listing shows it, its state revived (dates, bigints). */
export interface ProcessView<S = unknown> extends Omit<ProcessRecord, 'state'> {
  /** `undefined` while the process failed in its start step. */
  readonly state: S | undefined;
}

/** A process with its history. */
export interface ProcessDetails<S = unknown> extends ProcessView<S> {
  readonly history: readonly ProcessHistoryEntry[];
}

/** Counters of a manager, for metrics. */
export interface ProcessManagerStats {
  /** Steps committed (starts, events, timeouts). */
  readonly steps: number;
  /** Messages that changed nothing, by reason. */
  readonly ignored: Readonly<Record<IgnoredReason, number>>;
  /** Messages kept for later because their process was `failed`. */
  readonly parked: number;
  /** Steps that failed (the process went to `failed`). */
  readonly failures: number;
  /** Steps run again after losing a race with another step of the same process. */
  readonly conflicts: number;
}

/** Runs process definitions on the app's event bus (see `createProcessManager`). */
export interface ProcessManager {
  /** Processes matching the query, most recently started first. */
  list(query?: ProcessQuery): Promise<ProcessView[]>;
  /** How many processes there are in each status (of one type, or of all). */
  counts(process?: AnyProcessDefinition | string): Promise<Record<ProcessStatus, number>>;
  /** One process with its history, or `undefined`. */
  get<S>(process: ProcessDefinition<S, string>, processId: string): Promise<ProcessDetails<S> | undefined>;
  get(process: string, processId: string): Promise<ProcessDetails | undefined>;
  /**
   * Runs a `failed` process again: the message that failed, then the messages parked since, in
   * one unit of work. Succeeds → `running` (or ended); fails again → stays `failed` with the new
   * error. Resolves with the process after the attempt.
   * @throws ProcessError `not-found`, `not-failed`, `unknown-type`.
   */
  retry(process: AnyProcessDefinition | string, processId: string): Promise<ProcessView>;
  /**
   * Runs the definition's compensation on a `running` or `failed` process and ends it as
   * `compensated` (parked messages are dropped, timeouts disarmed). If the compensation throws, the
   * process is (or stays) `failed` with that error. Resolves with the process after the attempt.
   * @throws ProcessError `not-found`, `ended`, `no-compensation`, `unknown-type`.
   */
  compensate(process: AnyProcessDefinition | string, processId: string): Promise<ProcessView>;
  stats(): ProcessManagerStats;
  /** Stops reacting to events (unsubscribes). The store is the caller's to close. Idempotent. */
  close(): Promise<void>;
}

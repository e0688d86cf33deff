export {
  type AnyProcessDefinition,
  type CompensateHandler,
  type Correlate,
  defineProcess,
  type EventHandler,
  ProcessDefinition,
  type ProcessStateOf,
  type ProcessStep,
  type StartHandler,
  type TimeoutHandler,
} from './definition';
export type { Inbox } from './inbox';
export type {
  ProcessDetails,
  ProcessHost,
  ProcessManager,
  ProcessManagerOptions,
  ProcessManagerStats,
  ProcessView,
} from './manager-types';
export type { MessageScheduler } from './message-scheduler';
export { ProcessError, type ProcessErrorReason } from './process-error';
export { createProcessManager } from './process-manager';
export {
  type KeptMessage,
  type PendingTimeout,
  type ProcessErrorInfo,
  type ProcessFailure,
  type ProcessHistoryEntry,
  type ProcessHistoryKind,
  type ProcessQuery,
  type ProcessRecord,
  type ProcessStatus,
  type ProcessStore,
  TERMINAL_STATUSES,
} from './process-store';
export { ProcessTimeout } from './process-timeout';
export type { IgnoredReason } from './step-runner';

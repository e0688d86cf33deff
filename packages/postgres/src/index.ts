export { eventsChannel } from './append-notifier';
export {
  currentPostgresTransaction,
  DEFAULT_DATABASE_URL,
  DEFAULT_SCHEMA,
  type PostgresConnectionOptions,
  type PostgresTransaction,
} from './connection';
export {
  type AppendSubscription,
  type ListenForAppendsOptions,
  listenForAppends,
} from './listen-for-appends';
export { DEFAULT_MIGRATIONS_DIR, type MigrateOptions, type MigrateResult, migrate } from './migrate';
export {
  createOutboxRelay,
  type FailedOutboxMessage,
  type OutboxRelay,
  type OutboxRelayOptions,
} from './outbox-relay';
export { createPostgresCheckpointStore, type PostgresCheckpointStore } from './postgres-checkpoint-store';
export { postgresDriver } from './postgres-driver';
export { PostgresError, type PostgresErrorReason } from './postgres-error';
export {
  createPostgresEventStore,
  type PostgresEventStore,
  type PostgresEventStoreOptions,
} from './postgres-event-store';
export { createPostgresInbox, type PostgresInbox } from './postgres-inbox';
export {
  createPostgresMessageScheduler,
  type PostgresMessageScheduler,
  type PostgresMessageSchedulerOptions,
} from './postgres-message-scheduler';
export { createPostgresProcessStore, type PostgresProcessStore } from './postgres-process-store';
export {
  createPostgresTransactionManager,
  outboxChannel,
  type PostgresTransactionManager,
  type PostgresTransactionManagerOptions,
} from './postgres-transaction-manager';
export { createPostgresProjectionLease, type PostgresProjectionLease } from './projection-lease';

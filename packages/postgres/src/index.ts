export { PostgresCheckpointStore } from './checkpoint-store';
export {
  currentPostgresTransaction,
  DEFAULT_DATABASE_URL,
  DEFAULT_SCHEMA,
  type PostgresConnectionOptions,
  type PostgresTransaction,
} from './connection';
export { PostgresEventStore, type PostgresEventStoreOptions } from './event-store';
export { DEFAULT_MIGRATIONS_DIR, type MigrateOptions, type MigrateResult, migrate } from './migrate';
export { type FailedOutboxMessage, OutboxRelay, type OutboxRelayOptions } from './outbox-relay';
export {
  outboxChannel,
  PostgresTransactionManager,
  type PostgresTransactionManagerOptions,
} from './transaction-manager';

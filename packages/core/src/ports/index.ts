export type { CacheSingleFlight, CacheStats, CacheStore } from './cache-store';
export type {
  AppendResult,
  CheckpointStore,
  EventStore,
  ExpectedVersion,
  NewEvent,
  Snapshot,
  StoredEvent,
} from './event-store';
export type { HealthCheck, HealthStatus } from './health';
export {
  consoleLogger,
  type LogContext,
  type Logger,
  type PinoLike,
  pinoLogger,
  silentLogger,
  withLogLevel,
} from './logger';
export type { TransactionContext, TransactionManager, TransactionOptions } from './transaction-manager';
export type {
  BackoffPolicy,
  ConsumeOptions,
  DeadLetter,
  MessageHandler,
  ReceivedMessage,
  RetryPolicy,
  SendOptions,
  Subscription,
  Transport,
  TransportFeatures,
  TransportMessage,
} from './transport';

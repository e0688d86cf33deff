export type { CacheStats, CacheStore } from './cache-store';
export type {
  AppendResult,
  CheckpointStore,
  EventStore,
  ExpectedVersion,
  NewEvent,
  Snapshot,
  StoredEvent,
} from './event-store';
export {
  consoleLogger,
  type LogContext,
  type Logger,
  type PinoLike,
  pinoLogger,
  silentLogger,
} from './logger';
export type { TransactionContext, TransactionManager, TransactionOptions } from './transaction-manager';
export {
  assertSendSupported,
  type BackoffPolicy,
  backoffDelay,
  type ConsumeOptions,
  checkChannelName,
  checkSendOptions,
  checkTransportMessage,
  DEFAULT_RETRY_POLICY,
  type DeadLetter,
  decodeTransportMessage,
  describeError,
  encodeTransportMessage,
  isRetryable,
  type MessageHandler,
  type ReceivedMessage,
  type ResolvedConsumeOptions,
  type RetryPolicy,
  resolveConsumeOptions,
  type SendOptions,
  type Subscription,
  type Transport,
  type TransportFeatures,
  type TransportMessage,
} from './transport';

export type { AfterCommitOptions, AfterCommitStats, UndeliveredMessage } from './after-commit';
export type { CacheInvalidationOptions } from './cache-invalidation';
export { stableKey } from './cache-key';
export {
  CommandBus,
  type RegisterOptions,
  type TransactionResults,
  type TransactionRunOptions,
} from './command-bus';
export { type Cqrs, type CqrsOptions, createCqrs } from './cqrs';
export { EventBus, type SubscribeOptions } from './event-bus';
export {
  type Handler,
  type HandlerFunction,
  type HandlerObject,
  type LazyHandler,
  lazy,
} from './handlers';
export type { ConsumeContext, Instrumentation, SendContext } from './instrumentation';
export {
  loggingMiddleware,
  type MessageKind,
  type Middleware,
  type MiddlewareContext,
  type Operation,
  type RetryMiddlewareOptions,
  retryMiddleware,
  type TimingSample,
  timeoutMiddleware,
  timingMiddleware,
} from './middleware';
export { type AskMultipleOptions, QueryBus } from './query-bus';
export type { AskCachedOptions, QueryCacheStats } from './query-cache';
export { type AsyncOptions, ENVELOPE_CONTENT_TYPE } from './shared';
export { currentTransaction, currentUnitOfWork, type UnitOfWork } from './unit-of-work';
export type { Worker, WorkerOptions } from './worker';

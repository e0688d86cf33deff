/**
 * The names this package emits. The `messaging.*`, `error.type` names and the metric units follow
 * the OpenTelemetry semantic conventions at {@link SEMCONV_VERSION} (a test checks them against
 * `@opentelemetry/semantic-conventions` of that version); the `finaegis.*` ones are our own.
 */

/** The semantic-conventions version whose messaging spans and metrics this package follows. */
export const SEMCONV_VERSION = '1.40.0';

/** Header the send hook adds: when the message left, in milliseconds since the epoch (decimal text). */
export const SENT_AT_HEADER = 'finaegis-sent-at';

/** Attribute names (semantic conventions first, then ours). */
export const ATTR = {
  messagingSystem: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destinationName: 'messaging.destination.name',
  consumerGroupName: 'messaging.consumer.group.name',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  partitionId: 'messaging.destination.partition.id',
  kafkaMessageKey: 'messaging.kafka.message.key',
  errorType: 'error.type',
  messageKind: 'finaegis.message.kind',
  messageType: 'finaegis.message.type',
  operation: 'finaegis.operation',
  outcome: 'finaegis.outcome',
  cacheResult: 'finaegis.cache.result',
  sendVia: 'finaegis.send.via',
  attempt: 'finaegis.message.attempt',
  deadLettered: 'finaegis.message.dead_lettered',
  projection: 'finaegis.projection.name',
} as const;

/** Metric names, each with its unit in the table of the README. */
export const METRIC = {
  /** Semantic conventions: a worker's handling of one message (s). */
  processDuration: 'messaging.process.duration',
  /** Semantic conventions: one send / outbox enqueue (s). */
  clientOperationDuration: 'messaging.client.operation.duration',
  /** Semantic conventions: messages sent (or enqueued in an outbox). */
  clientSentMessages: 'messaging.client.sent.messages',
  /** In-process `dispatch` of a command (s). */
  commandDuration: 'finaegis.command.duration',
  /** In-process `ask` / `askCached` of a query (s). */
  queryDuration: 'finaegis.query.duration',
  /** In-process `publish` of an event (s). */
  eventDuration: 'finaegis.event.duration',
  /** `askCached` calls by `finaegis.cache.result`: `hit`, `miss` or `coalesced`. */
  cacheCalls: 'finaegis.query.cache.calls',
  /** From an event's `occurredAt` to the end of its handling by a worker (s). */
  eventLag: 'finaegis.event.lag',
  /** From a message's send (the `finaegis-sent-at` header) to the end of its handling (s). */
  messageLag: 'finaegis.message.lag',
  /** Failed operations and handlings, by `finaegis.message.type`, `finaegis.operation`, `error.type`. */
  errors: 'finaegis.errors',
  /** Messages whose failed handling dead-lettered them (the last attempt, or a non-retryable error). */
  deadLettered: 'finaegis.messages.dead_lettered',
  /** Messages waiting per channel and group (from `transport.depth()`). */
  queueDepth: 'finaegis.queue.depth',
  /** Events a projection is behind the store. */
  projectionLagPositions: 'finaegis.projection.lag.positions',
  /** Age of the oldest event a projection has not applied yet (s); 0 when caught up. */
  projectionLag: 'finaegis.projection.lag',
} as const;

/** The semantic conventions' advice for messaging durations (s). */
export const MESSAGING_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
/** In-process work is sub-millisecond: finer buckets at the low end (s). */
export const IN_PROCESS_DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Lag spans milliseconds (a live worker) to minutes (a backlog) (s). */
export const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

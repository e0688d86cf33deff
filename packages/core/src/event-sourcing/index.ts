export { AggregateNotFoundError } from './aggregate-not-found-error';
export { type AggregateClass, AggregateRoot, type EventApplier } from './aggregate-root';
export { DuplicateEventError } from './duplicate-event-error';
export {
  EventSerializer,
  type EventSerializerOptions,
  fromJsonRecord,
  RESERVED_METADATA_KEYS,
  schemaVersionOf,
  toJsonRecord,
} from './event-serializer';
export {
  type CatchUpResult,
  Projection,
  type ProjectionContext,
  type ProjectionHandler,
  type ProjectionLease,
  Projector,
  type ProjectorOptions,
} from './projection';
export { ProjectionError } from './projection-error';
export {
  type EventPublisher,
  EventSourcedRepository,
  type EventSourcedRepositoryOptions,
} from './repository';
export { type RetryOnConcurrencyOptions, retryOnConcurrencyError } from './retry';
export { neverSnapshot, type SnapshotContext, type SnapshotPolicy, snapshotEvery } from './snapshot-policy';
export { type RawEvent, renameEvent, type Upcaster, UpcasterChain, upcaster } from './upcasting';

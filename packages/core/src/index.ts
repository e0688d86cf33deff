// Moved to the adapter kit (`@finaegis/core/adapter`); re-exported here only until every adapter
// imports them from there.
export {
  assertSendSupported,
  backoffDelay,
  checkChannelName,
  checkSendOptions,
  checkTransportMessage,
  DEFAULT_RETRY_POLICY,
  decodeTransportMessage,
  describeError,
  encodeTransportMessage,
  isRetryable,
  type ResolvedConsumeOptions,
  resolveConsumeOptions,
} from './adapter';
export * from './buses';
export * from './config';
export * from './errors';
export * from './event-sourcing';
export { idTime, newId } from './ids';
export {
  Command,
  DomainEvent,
  type EventInit,
  invalid,
  Message,
  type MessageClass,
  type Metadata,
  messageTypeOf,
  Query,
  type ResultOf,
} from './messages';
export * from './ports';
export {
  assertSafeObject,
  decodeJson,
  encodeJson,
  type MessageEnvelope,
  MessageRegistry,
} from './serialization';
export { type StandardSchemaV1Like, validateMessage } from './validation';

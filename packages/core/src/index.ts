export * from './buses';
export * from './compose';
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
export * from './process';
export {
  assertSafeObject,
  decodeJson,
  encodeJson,
  type MessageEnvelope,
  MessageRegistry,
} from './serialization';
export { type StandardSchemaV1Like, validateMessage } from './validation';

/**
 * `@finaegis/core/adapter`: the kit for adapter authors. Everything an adapter would otherwise
 * write again: the input checks every transport makes the same way, the wire form of a message,
 * the retry / dead-letter decision, the closed check, timeouts and error rendering. Application
 * code does not need it; it imports `@finaegis/core`.
 */
export {
  assertSendSupported,
  checkChannelName,
  checkConsumeArguments,
  checkSendOptions,
  checkTransportMessage,
  type ResolvedConsumeOptions,
  resolveConsumeOptions,
} from './checks';
export {
  CLOUDEVENTS_HEADER_PREFIX,
  CLOUDEVENTS_JSON_CONTENT_TYPE,
  CLOUDEVENTS_SPEC_VERSION,
  type CloudEvent,
  type CloudEventContext,
  type CloudEventData,
  type CloudEventValue,
  decodeStructuredCloudEvent,
  encodeStructuredCloudEvent,
  fromCloudEvent,
  isJsonContentType,
  toCloudEvent,
} from './cloudevents';
export { describeError, formatCause } from './errors';
export { Lifecycle } from './lifecycle';
export {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  type FailureDecision,
  failureDecision,
  isRetryable,
} from './retry';
export { withTimeout } from './timeout';
export {
  decodeTransportMessage,
  encodeTransportMessage,
  isTransportMessage,
  toReceivedMessage,
} from './wire';

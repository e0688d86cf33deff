export { ATTR, METRIC, SEMCONV_VERSION, SENT_AT_HEADER } from './conventions';
export { type OtelInstrumentationOptions, otelInstrumentation } from './instrumentation';
export {
  type ObserveProjectionLagOptions,
  observeProjectionLag,
  type ProjectionLagTarget,
} from './projection-lag';
export {
  type Observation,
  type ObserveQueueDepthOptions,
  observeQueueDepth,
  type QueueDepthTarget,
} from './queue-depth';

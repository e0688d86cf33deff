export { BrokerUnavailableError } from './broker-unavailable-error';
export { kafkaDriver } from './kafka-driver';
export type { KafkaTransportOptions } from './kafka-options';
export { KafkaTimeoutError } from './kafka-timeout-error';
export { createKafkaTransport, type KafkaTransport } from './kafka-transport';
export { NotEnoughReplicasError } from './not-enough-replicas-error';
export type { KafkaCloudEventsOptions } from './send-formats';

export { BrokerUnavailableError } from './broker-unavailable-error';
export { createKafkaTransport, KafkaTransport, type KafkaTransportOptions } from './kafka-transport';

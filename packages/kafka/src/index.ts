export { createKafkaTransport, KafkaTransport, type KafkaTransportOptions } from './kafka-transport';

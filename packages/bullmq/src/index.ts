export {
  type BatchMessage,
  type BullmqTransport,
  type BullmqTransportOptions,
  createBullmqTransport,
} from './bullmq-transport';

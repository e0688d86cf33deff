export { bullmqDriver } from './bullmq-driver';
export type { BullmqTransportOptions } from './bullmq-options';
export { type BatchMessage, type BullmqTransport, createBullmqTransport } from './bullmq-transport';

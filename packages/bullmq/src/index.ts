export { bullmqDriver } from './bullmq-driver';
export type { BatchMessage, BullmqTransport, BullmqTransportOptions } from './bullmq-options';
export { createBullmqTransport } from './bullmq-transport';

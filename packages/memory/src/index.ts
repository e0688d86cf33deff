export { type MemoryClock, type MemoryTimer, realClock } from './clock';
export { createMemoryBroker, type MemoryBroker, type MemoryBrokerOptions } from './memory-broker';
export {
  createMemoryCacheStore,
  type MemoryCacheStore,
  type MemoryCacheStoreOptions,
} from './memory-cache-store';
export { createMemoryCheckpointStore, type MemoryCheckpointStore } from './memory-checkpoint-store';
export { memoryDriver } from './memory-driver';
export { createMemoryEventStore, type MemoryEventStore } from './memory-event-store';
export { createMemoryProcessStore, type MemoryProcessStore } from './memory-process-store';
export { createMemoryTransactionManager, type MemoryTransactionManager } from './memory-transaction-manager';
export { createMemoryTransport, type MemoryTransport, type MemoryTransportOptions } from './memory-transport';

export {
  createMemoryCacheStore,
  MemoryCacheStore,
  type MemoryCacheStoreOptions,
} from './cache-store';
export * from './event-store';
export { createMemoryTransactionManager, MemoryTransactionManager } from './transaction-manager';
export {
  createMemoryTransport,
  MemoryBroker,
  type MemoryBrokerOptions,
  MemoryTransport,
  type MemoryTransportOptions,
} from './transport';

export {
  type CacheStoreContractGroup,
  type CacheStoreContractGroupName,
  type CacheStoreHarness,
  cacheStoreContract,
} from './cache-store-contract';
export {
  type CheckpointStoreContractGroup,
  type CheckpointStoreContractGroupName,
  type CheckpointStoreHarness,
  checkpointStoreContract,
} from './checkpoint-store-contract';
export {
  EVENT_STORE_CONTRACT_GROUPS,
  type EventStoreContractAssertion,
  type EventStoreContractGroup,
  type EventStoreContractHarness,
  type EventStoreContractOptions,
  type EventStoreContractRunner,
} from './event-store/harness';
export { eventStoreContract } from './event-store/index';
export {
  type ProcessStoreContractGroup,
  type ProcessStoreContractGroupName,
  type ProcessStoreHarness,
  processStoreContract,
} from './process-store-contract';
export { type ContractAssertion, type ContractRunner, waitFor } from './runner';
export {
  type TransactionManagerContractGroup,
  type TransactionManagerContractGroupName,
  type TransactionManagerFeatures,
  type TransactionManagerHarness,
  type TransactionProbe,
  transactionManagerContract,
} from './transaction-manager/index';
export {
  type TransportContractGroup,
  type TransportContractGroupName,
  type TransportHarness,
  type TransportTolerances,
  transportContract,
} from './transport/index';

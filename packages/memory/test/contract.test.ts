import { AsyncResource } from 'node:async_hooks';
import {
  cacheStoreContract,
  checkpointStoreContract,
  eventStoreContract,
  type TransactionProbe,
  transactionManagerContract,
  transportContract,
} from '@finaegis/contract-tests';
import { afterAll, describe, expect, test } from 'vitest';
import {
  createMemoryBroker,
  createMemoryCacheStore,
  createMemoryCheckpointStore,
  createMemoryEventStore,
  createMemoryTransactionManager,
  createMemoryTransport,
  type MemoryTransport,
} from '../src/index';
import { crashMemoryTransport, sendRawToMemoryBroker } from '../src/testing';

// One broker for the file: transports made by the harness behave like processes on one broker
// (every test uses its own channel).
const broker = createMemoryBroker();
afterAll(() => broker.close());

transportContract(
  { describe, test, expect },
  {
    name: 'memory',
    features: createMemoryTransport().features,
    create: async () => createMemoryTransport({ broker }),
    sendRaw: async (channel, raw) => sendRawToMemoryBroker(broker, channel, raw),
    crash: async (transport) => crashMemoryTransport(transport as MemoryTransport),
    tolerances: { delayLateMs: 200, settleMs: 50 },
  },
);

cacheStoreContract(
  { describe, test, expect },
  { name: 'memory', create: async () => createMemoryCacheStore() },
);

eventStoreContract(
  { describe, test, expect },
  { name: 'memory', create: async () => createMemoryEventStore() },
);

// The memory stores find the transaction in async context, so the probe writes and reads in the
// context the suite calls it from; `read` is bound to this module's context, outside every
// transaction, to see only what was committed.
const checkpoints = createMemoryCheckpointStore();
const probe: TransactionProbe = {
  write: (_tx, key, value) => checkpoints.save(key, value),
  read: AsyncResource.bind((key: string) => checkpoints.load(key)),
  readIn: (_tx, key) => checkpoints.load(key),
};

transactionManagerContract(
  { describe, test, expect },
  {
    name: 'memory',
    features: { savepoint: true, outbox: false },
    create: async () => createMemoryTransactionManager(),
    probe,
  },
);

checkpointStoreContract(
  { describe, test, expect },
  {
    name: 'memory',
    // One store for every test, as one backend shared by processes (projection names are unique).
    create: async () => checkpoints,
    transactions: { create: async () => createMemoryTransactionManager(), savepoint: true },
  },
);

import { cacheStoreContract, transportContract } from '@finaegis/contract-tests';
import { afterAll, describe, expect, test } from 'vitest';
import { MemoryBroker, MemoryCacheStore, MemoryTransport } from '../src/index';

// One broker for the file: transports made by the harness behave like processes on one broker
// (every test uses its own channel).
const broker = new MemoryBroker();
afterAll(() => broker.close());

transportContract(
  { describe, test, expect },
  {
    name: 'memory',
    features: new MemoryTransport().features,
    create: async () => new MemoryTransport({ broker }),
    sendRaw: async (channel, raw) => broker.sendRaw(channel, raw),
    crash: async (transport) => (transport as MemoryTransport).crash(),
    tolerances: { delayLateMs: 200, settleMs: 50 },
  },
);

cacheStoreContract(
  { describe, test, expect },
  { name: 'memory', create: async () => new MemoryCacheStore() },
);

import { cacheStoreContract } from '@finaegis/contract-tests';
import { createKeyvCacheStore } from '@finaegis/keyv';
import { Keyv } from 'keyv';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { assertRedisUp, deleteKeys, REDIS_URL, uniquePrefix } from './helpers';

// Stores made by one harness share a backend, like processes sharing Redis (the suite gives every
// test its own namespaces).
const sharedMemory = new Keyv();
cacheStoreContract(
  { describe, test, expect },
  { name: 'keyv-memory', create: async () => createKeyvCacheStore({ keyv: sharedMemory }) },
);

const redisPrefix = uniquePrefix('contract');
beforeAll(async () => {
  await assertRedisUp();
});
afterAll(async () => {
  await deleteKeys(redisPrefix);
});
cacheStoreContract(
  { describe, test, expect },
  {
    name: 'keyv-redis',
    // A roomy op budget: the suite checks behaviour (a 1 MiB value, 200 concurrent writes) on a
    // machine that may be busy; the fail-fast budget is tested in outage.int.test.ts.
    create: async () =>
      createKeyvCacheStore({
        redisUrl: REDIS_URL,
        keyPrefix: redisPrefix,
        opTimeoutMs: 5000,
        singleFlight: { leaseMs: 500 },
      }),
    features: { singleFlight: true },
  },
);

import { processStoreContract } from '@finaegis/contract-tests';
import { describe, expect, test } from 'vitest';
import { createMemoryProcessStore, createMemoryTransactionManager } from '../src/index';

// One store for every test, as one backend shared by processes (process types are unique per test).
const store = createMemoryProcessStore();

processStoreContract(
  { describe, test, expect },
  {
    name: 'memory',
    create: async () => store,
    transactions: { create: async () => createMemoryTransactionManager(), savepoint: true },
  },
);

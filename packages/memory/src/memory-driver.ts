import type { Driver } from '@finaegis/core';
import { createMemoryCacheStore } from './memory-cache-store';
import { createMemoryCheckpointStore } from './memory-checkpoint-store';
import { createMemoryEventStore } from './memory-event-store';
import { createMemoryTransactionManager } from './memory-transaction-manager';
import { createMemoryTransport } from './memory-transport';

/**
 * The driver `composeCqrs()` uses for `QUEUE_CONNECTION=memory`, `CACHE_DRIVER=memory` and
 * `EVENT_STORE=memory` (the defaults): everything in this process, nothing to install or run.
 * The transaction manager has no outbox: the buses send async messages after commit themselves.
 */
export const memoryDriver: Driver = {
  package: '@finaegis/memory',
  transports: { memory: () => createMemoryTransport() },
  caches: { memory: () => createMemoryCacheStore() },
  persistence: {
    memory: async () => {
      const eventStore = createMemoryEventStore();
      const transactionManager = createMemoryTransactionManager();
      return {
        eventStore,
        transactionManager,
        checkpointStore: createMemoryCheckpointStore(),
        outbox: false,
        async close() {
          await Promise.all([eventStore.close(), transactionManager.close()]);
        },
      };
    },
  },
};

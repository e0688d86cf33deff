import type { EventStore } from '@finaegis/core';
import { appendAndRead } from './append-and-read';
import { concurrency } from './concurrency';
import type { EventStoreGroupContext } from './context';
import { expectedVersion } from './expected-version';
import {
  EVENT_STORE_CONTRACT_GROUPS,
  type EventStoreContractGroup,
  type EventStoreContractHarness,
  type EventStoreContractOptions,
  type EventStoreContractRunner,
} from './harness';
import { isolation } from './isolation';
import { payloads } from './payloads';
import { readAll } from './read-all';
import { snapshots } from './snapshots';

const GROUPS: Readonly<Record<EventStoreContractGroup, (context: EventStoreGroupContext) => void>> = {
  'append-and-read': appendAndRead,
  'expected-version': expectedVersion,
  concurrency: concurrency,
  'read-all': readAll,
  snapshots: snapshots,
  isolation: isolation,
  payloads: payloads,
};

/**
 * The behaviour every `EventStore` adapter owes, as tests. Every test gets a fresh store from
 * `harness.create()` (closed afterwards) and its own stream ids, so a harness may share one
 * database between tests.
 *
 * ```ts
 * import { describe, expect, test } from 'vitest';
 * eventStoreContract({ describe, test, expect }, { name: 'memory', create: async () => createMemoryEventStore() });
 * ```
 */
export function eventStoreContract(
  runner: EventStoreContractRunner,
  harness: EventStoreContractHarness,
  options: EventStoreContractOptions = {},
): void {
  const groups = new Set(options.groups ?? EVENT_STORE_CONTRACT_GROUPS);
  const withStore = (body: (store: EventStore) => Promise<void>) => async () => {
    const store = await harness.create();
    try {
      await body(store);
    } finally {
      await store.close();
    }
  };
  const { describe, test, expect } = runner;
  const context: EventStoreGroupContext = {
    describe,
    test,
    expect,
    withStore,
    writers: options.concurrentWriters ?? 10,
  };
  runner.describe(`EventStore contract: ${harness.name}`, () => {
    for (const group of EVENT_STORE_CONTRACT_GROUPS) if (groups.has(group)) GROUPS[group](context);
  });
}

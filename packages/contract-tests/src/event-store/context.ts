import type { EventStore } from '@finaegis/core';
import type { EventStoreContractRunner } from './harness';

/** What each event store group registers its tests with. */
export interface EventStoreGroupContext extends EventStoreContractRunner {
  /** Wraps a test body: a fresh store from the harness, closed at the end whatever happened. */
  withStore(body: (store: EventStore) => Promise<void>): () => Promise<void>;
  /** Writers racing in the concurrency tests. */
  readonly writers: number;
}

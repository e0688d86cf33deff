import type { EventStore } from '@finaegis/core';

/** The assertions the event store contract uses; vitest's `expect` (or jest's) fits. */
export interface EventStoreContractAssertion {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toBeInstanceOf(expected: Function): void;
  toBeUndefined(): void;
  toHaveLength(length: number): void;
  toBeGreaterThan(expected: number): void;
}

/** The test runner: pass vitest's `{ describe, test, expect }`. */
export interface EventStoreContractRunner {
  describe(name: string, body: () => void): void;
  test(name: string, body: () => Promise<void>): void;
  expect(actual: unknown): EventStoreContractAssertion;
}

/** What `eventStoreContract` needs of an adapter: a name for the suite and a way to make a fresh store. */
export interface EventStoreContractHarness {
  /** Shown in the suite's name. */
  readonly name: string;
  /** A fresh, ready store; the suite closes it after each test. */
  create(): Promise<EventStore>;
}

/** Parts of the suite that can run on their own. */
export type EventStoreContractGroup =
  | 'append-and-read'
  | 'expected-version'
  | 'concurrency'
  | 'read-all'
  | 'snapshots'
  | 'isolation'
  | 'payloads';

/** Every group of the event store contract, in the order the suite runs them. */
export const EVENT_STORE_CONTRACT_GROUPS: readonly EventStoreContractGroup[] = [
  'append-and-read',
  'expected-version',
  'concurrency',
  'read-all',
  'snapshots',
  'isolation',
  'payloads',
];

/** Options of `eventStoreContract`: which groups to run, and how hard to race the writers. */
export interface EventStoreContractOptions {
  /** Groups to run (default all). */
  readonly groups?: readonly EventStoreContractGroup[];
  /** Writers racing in the concurrency tests (default 10; a stress run may raise it). */
  readonly concurrentWriters?: number;
}

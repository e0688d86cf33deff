import type { TransactionContext, TransactionManager, TransportMessage } from '@finaegis/core';
import type { ContractGroup } from '../registration';

/**
 * How the suite sees what a transaction wrote, whatever the adapter stores. Keys are strings the
 * suite makes unique per test; values are integers ≥ 1, and a key never written (or whose write
 * was undone) reads as 0, so a checkpoint store can back a probe as well as a table.
 *
 * The suite calls `write` and `readIn` from inside the work of `tx` (the transaction's or a
 * savepoint's), so a probe may find the transaction through `tx` or through async context.
 */
export interface TransactionProbe {
  /** Writes `value` under `key` as part of `tx` (through the adapter's own store, or `tx.client`). */
  write(tx: TransactionContext, key: string, value: number): Promise<void>;
  /** The committed value under `key`, as another process sees it, from whatever context it is called. */
  read(key: string): Promise<number>;
  /** The value under `key` as `tx` sees it: its own uncommitted writes included. */
  readIn(tx: TransactionContext, key: string): Promise<number>;
}

/** What the adapter's transaction contexts offer; tests of a part declared `false` are not registered. */
export interface TransactionManagerFeatures {
  /** `tx.savepoint` (nested transactions). */
  readonly savepoint: boolean;
  /** `tx.enqueue` (an outbox, relayed after commit). */
  readonly outbox: boolean;
}

/** How the suite reaches the transaction manager under test. */
export interface TransactionManagerHarness {
  /** Shown in test names, e.g. `memory`, `postgres`. */
  readonly name: string;
  readonly features: TransactionManagerFeatures;
  /** A fresh manager; the suite closes it after each test. Managers may share a database. */
  create(): Promise<TransactionManager>;
  readonly probe: TransactionProbe;
  /**
   * For `outbox`: the messages the adapter's relay has sent on `channel` so far, in send order.
   * The harness runs the relay (started before the suite, stopped after it).
   */
  sent?(channel: string): Promise<readonly TransportMessage[]>;
  readonly tolerances?: {
    /** The timeout of the transactions that must time out, in milliseconds. Default 300. */
    readonly timeoutMs?: number;
    /** Longest wait for something that must happen (a relayed message). Default 10,000. */
    readonly waitMs?: number;
    /** How long to watch for something that must not happen (an early send). Default 200. */
    readonly settleMs?: number;
    /** Time limit of each test. Default 60,000. */
    readonly testTimeoutMs?: number;
  };
}

/** Registers one group of the transaction manager contract. */
export type TransactionManagerContractGroup = ContractGroup<TransactionManagerHarness>;

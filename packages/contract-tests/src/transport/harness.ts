import type { Transport, TransportFeatures } from '@finaegis/core';
import type { ContractGroup } from '../registration';

/** Timing allowances of a transport under test. All in milliseconds. */
export interface TransportTolerances {
  /** How late a delayed message may arrive after it is due. Default 1,000. */
  readonly delayLateMs?: number;
  /** How early a delayed message may arrive (clock skew between broker and test). Default 0. */
  readonly delayEarlyMs?: number;
  /** Longest wait for something that must happen (delivery, redelivery after a crash...). Default 30,000. */
  readonly waitMs?: number;
  /** How long to watch for something that must not happen (a duplicate delivery). Default 300. */
  readonly settleMs?: number;
  /** Time limit of each test. Default 120,000. */
  readonly testTimeoutMs?: number;
  /**
   * Messages a consumer with concurrency 1 may already hold when a backlog forms (broker
   * prefetch); the priority test ignores that many at the start. Default 0.
   */
  readonly prefetch?: number;
  /**
   * For the `reconnect` group: how long after `restartBroker()` resolves the sends made during
   * the restart may take to resolve, and the consumer to handle everything. Default 90,000.
   */
  readonly reconnectMs?: number;
}

/** How the suite reaches the transport under test. */
/** How the suite reaches the transport under test. */
export interface TransportHarness {
  /** Shown in test names, e.g. `memory`, `bullmq`. */
  readonly name: string;
  /**
   * The features the adapter declares. Tests of a feature declared `false` are not registered
   * (the suite prints which); a test checks that every created transport declares exactly these.
   */
  readonly features: TransportFeatures;
  /**
   * A fresh transport. Transports made by one harness must reach the same broker, as separate
   * processes would: the group, crash, resubscribe and close-order tests use several at once.
   */
  create(): Promise<Transport>;
  /**
   * Writes raw text to a channel, bypassing `send`, as a foreign or broken producer would. Needed by
   * the `decoding` group.
   */
  sendRaw?(channel: string, raw: string, transport: Transport): Promise<void>;
  /**
   * Kills a transport as a crash would: its consumers stop without acknowledging what they were
   * handling, so that the broker redelivers it to another consumer. Needed by the `crash` group.
   */
  crash?(transport: Transport): Promise<void>;
  /**
   * Stops the broker the harness's transports reach and starts it again with the same data (the
   * messages it had accepted survive), resolving once it answers again. Optional: the `reconnect`
   * group is registered only when it is given. Give a harness of its own to a broker the suite may
   * restart, never a shared one.
   */
  restartBroker?(): Promise<void>;
  readonly tolerances?: TransportTolerances;
  /** Multiplies the message counts (stress mode). Default: env `STRESS`, else 1. */
  readonly stress?: number;
}

/** Registers one group of the transport contract. */
export type TransportContractGroup = ContractGroup<TransportHarness>;

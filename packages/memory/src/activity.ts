/** What one consumer group of a memory broker holds at a moment (see `memoryBrokerActivity`). */
export interface MemoryGroupActivity {
  readonly channel: string;
  readonly group: string;
  /** Consumers subscribed now. */
  readonly consumers: number;
  /**
   * Messages whose time has come that no handler holds yet: waiting for a free consumer, or for a
   * timer the clock has not run yet.
   */
  readonly due: number;
  /** Messages a handler is working on. */
  readonly inFlight: number;
  /**
   * Messages waiting for an earlier message of their key (ordering by key) to be acknowledged or
   * dead-lettered; they become due one by one after it.
   */
  readonly waitingBehindKey: number;
  /** Delayed sends and retries waiting for their backoff, not due yet. */
  readonly scheduled: number;
  /** When the earliest scheduled message becomes due (ms since the epoch on the broker's clock). */
  readonly nextDueAt: number | undefined;
}

/** What a memory broker holds at a moment: the work done, doing and still to do. */
export interface MemoryBrokerActivity {
  /** Every consumer group of every channel. */
  readonly groups: readonly MemoryGroupActivity[];
  /** Messages sent to channels that no group consumes yet (kept for the first group). */
  readonly unrouted: number;
}

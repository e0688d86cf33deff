/**
 * The Transport port: how async commands and events leave a process and reach workers.
 *
 * Channels are named queues/topics (`commands`, `events` from config). A channel is consumed by
 * named consumer groups: every group receives every message sent to the channel, and within a
 * group each message goes to one consumer (competing consumers). Delivery is at-least-once:
 * handlers must be idempotent; `TransportMessage.id` is stable across redeliveries to help.
 */

/** What a transport can do. A feature an adapter lacks is refused with `UnsupportedFeatureError`. */
export interface TransportFeatures {
  /** `SendOptions.delayMs` is honoured: the message is not delivered before it is due. */
  readonly delay: boolean;
  /** `SendOptions.priority` orders a backlog: higher priority first. */
  readonly priority: boolean;
  /** Messages with the same `key` are handled one at a time, in send order, within a group. */
  readonly orderingByKey: boolean;
  /** Several named groups on one channel each receive every message. */
  readonly consumerGroups: boolean;
  /** Messages that keep failing are kept in a dead-letter place, listable and re-drivable. */
  readonly deadLetter: boolean;
  /** A second send with the same `dedupeId` (while the first is known) is dropped. */
  readonly dedupe: boolean;
  /** Messages survive a restart of this process (they live in a broker). */
  readonly persistent: boolean;
  /** `depth()` reports how many messages wait. */
  readonly depth: boolean;
}

/** A message as the transport carries it. `body` is opaque text (our serialised envelope). */
export interface TransportMessage {
  /** Unique id; stays the same on every redelivery. */
  readonly id: string;
  /** The message's wire type (for routing, logs and dead-letter listings). */
  readonly type: string;
  /** The serialised message. Transports carry it byte for byte. */
  readonly body: string;
  /** String headers, carried intact (unicode included). */
  readonly headers: Readonly<Record<string, string>>;
  /** Ordering / partition key (an aggregate id for events). */
  readonly key?: string;
}

export interface SendOptions {
  /** Deliver no earlier than this many milliseconds from now. Needs `features.delay`. */
  readonly delayMs?: number;
  /** Higher is handled first, 0 (default) lowest. Needs `features.priority`. */
  readonly priority?: number;
  /** Same key → same partition / ordered handling. Overrides `message.key`. */
  readonly key?: string;
  /** Drop a second send with this id. Needs `features.dedupe`. Defaults to nothing (no dedupe). */
  readonly dedupeId?: string;
}

/** A message handed to a consumer. */
export interface ReceivedMessage extends TransportMessage {
  readonly channel: string;
  readonly group: string;
  /** 1 on the first delivery, 2 on the first retry, ... */
  readonly attempt: number;
}

export interface BackoffPolicy {
  /** `exponential`: delayMs × 2^(attempt-1); `fixed`: delayMs each time. */
  readonly type: 'exponential' | 'fixed';
  readonly delayMs: number;
  /** Cap for exponential backoff. */
  readonly maxDelayMs?: number;
}

export interface RetryPolicy {
  /** Deliveries in all, the first included, before the message is dead-lettered. At least 1. */
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
}

export interface ConsumeOptions {
  /** Consumer group name. Every group gets every message; a group's consumers share them. */
  readonly group: string;
  /** Handlers running at once in this consumer. Default 1. */
  readonly concurrency?: number;
  /** Default: 3 attempts, exponential backoff from 100 ms. */
  readonly retry?: RetryPolicy;
}

/**
 * Handles one message. Resolving acknowledges it. Rejecting schedules a retry per the policy,
 * unless the error has `retryable === false`, which dead-letters the message at once.
 */
export type MessageHandler = (message: ReceivedMessage) => Promise<void>;

export interface Subscription {
  /**
   * Stops taking new messages, waits for the handlers in flight to finish and acknowledges them,
   * then leaves the group. Idempotent: a second call waits for the same close.
   */
  close(): Promise<void>;
}

/** A message that kept failing (or could not be decoded) and was set aside. */
export interface DeadLetter {
  /** Id of this dead-letter entry (pass it to `redrive`). */
  readonly id: string;
  readonly channel: string;
  readonly group: string;
  /** The original message. For undecodable input, `body` holds the raw text and `type` is `''`. */
  readonly message: TransportMessage;
  /** The last error: its name and message (and stack when known). */
  readonly error: { readonly name: string; readonly message: string; readonly stack?: string };
  /** Deliveries made before it was dead-lettered. */
  readonly attempts: number;
  /** When it was dead-lettered (ms since epoch). */
  readonly failedAt: number;
}

export interface Transport {
  /** Adapter name used in error messages, e.g. `memory`, `bullmq`, `kafka`. */
  readonly name: string;
  readonly features: TransportFeatures;

  /**
   * Sends one message to a channel. Resolves once the transport has accepted it (for a broker:
   * acknowledged it). Safe to call concurrently. Throws `UnsupportedFeatureError` for an option
   * the adapter does not declare.
   */
  send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void>;

  /**
   * Starts consuming a channel as one consumer of `options.group`. Messages the body of which
   * cannot be read as a transport message are dead-lettered with a `MessageDecodeError`, and the
   * consumer goes on.
   */
  consume(channel: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription>;

  /** Dead-lettered messages of a channel (and group), oldest first. Needs `features.deadLetter`. */
  deadLetters(channel: string, options?: { group?: string; limit?: number }): Promise<DeadLetter[]>;

  /**
   * Sends dead-lettered messages back to their group for another full set of attempts and removes
   * them from the dead-letter place. No ids: all of the channel's. Returns how many were re-driven.
   */
  redrive(channel: string, options?: { group?: string; ids?: readonly string[] }): Promise<number>;

  /** Messages waiting (including delayed and in flight) in a channel for a group. Needs `features.depth`. */
  depth(channel: string, options?: { group?: string }): Promise<number>;

  /**
   * Closes every subscription (as `Subscription.close`) and the connections the transport opened
   * itself (never a client passed in by the caller). Idempotent.
   */
  close(): Promise<void>;
}

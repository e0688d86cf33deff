/**
 * The Transport port: how async commands and events leave a process and reach workers.
 *
 * Channels are named queues/topics (`commands`, `events` from config). A channel is consumed by
 * named consumer groups: every group receives every message sent to the channel, and within a
 * group each message goes to one consumer (competing consumers). Delivery is at-least-once:
 * handlers must be idempotent; `TransportMessage.id` is stable across redeliveries to help.
 */

import type { HealthCheck } from './health';

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

/** Options of `Transport.send`; each one needs the matching feature, or the send is refused. */
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
  /** The partition it was read from, on transports that partition a channel (Kafka). */
  readonly partition?: number;
}

/** How long to wait before the next attempt of a failed message. */
export interface BackoffPolicy {
  /** `exponential`: delayMs × 2^(attempt-1); `fixed`: delayMs each time. */
  readonly type: 'exponential' | 'fixed';
  readonly delayMs: number;
  /** Cap for exponential backoff. */
  readonly maxDelayMs?: number;
}

/** How often a consumer tries a message before it is dead-lettered, and how long it waits in between. */
export interface RetryPolicy {
  /** Deliveries in all, the first included, before the message is dead-lettered. At least 1. */
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
}

/** Options of `Transport.consume`. */
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

/** A running consumer, as `Transport.consume` returns it. */
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

/**
 * What every transport adapter owes. The contract suite (`transportContract` in
 * `@finaegis/contract-tests`) checks each rule stated here; the adapter kit
 * (`@finaegis/core/adapter`) has the shared pieces that make most of them hold.
 *
 * Rules for every member:
 * - **Concurrency.** Every method may be called concurrently with every other, from any number of
 *   callers, until `close()` is called.
 * - **After close.** Once `close()` has been called, every method except `close` itself rejects
 *   with `TransportClosedError` (a rejected promise, never a synchronous throw), whether or not
 *   the feature it needs is declared. `features` and `name` stay readable.
 * - **Bad input** (an empty channel, a message whose body is not a string, ...) rejects with
 *   `InvalidArgumentError` naming the argument, before anything is sent. An option for a feature
 *   the adapter declares off rejects with `UnsupportedFeatureError`; it is never silently ignored.
 * - **Delivery** is at-least-once: a message whose `send` resolved reaches every consumer group of
 *   its channel at least once (`features.persistent`: even across a restart of this process), with
 *   the same `id` on every redelivery.
 */
export interface Transport {
  /** Adapter name used in error messages, e.g. `memory`, `bullmq`, `kafka`. */
  readonly name: string;
  /** What the adapter supports; constant for the life of the transport. */
  readonly features: TransportFeatures;

  /**
   * Sends one message to a channel.
   * - Resolves once the transport has accepted it: for a broker, once the broker acknowledged it;
   *   from then on it is not lost by closing this transport.
   * - A channel nobody has consumed yet keeps what is sent to it: the first group to consume the
   *   channel receives every message sent before (within the broker's retention). A group that
   *   starts consuming after another one receives at least what is sent from then on; whether it
   *   also gets older messages is the adapter's to document.
   * - Safe to call concurrently; with `features.orderingByKey`, sends of one key that were
   *   awaited one after the other are handled in that order.
   * @throws InvalidArgumentError, UnsupportedFeatureError, TransportClosedError (as rejections).
   */
  send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void>;

  /**
   * Starts consuming a channel as one consumer of `options.group`; resolves once the consumer is
   * ready to receive (for a broker: joined the group).
   * - Each group receives every message of the channel; within a group each message goes to one
   *   consumer (competing consumers), in this process or another.
   * - A handler that resolves acknowledges its message; one that rejects has it retried per
   *   `options.retry`, and dead-lettered when the attempts are used up or the error has
   *   `retryable === false` (or, without `features.deadLetter`, dropped after being logged).
   * - A message whose body cannot be read as a transport message is dead-lettered with
   *   `MessageDecodeError`, and the consumer goes on.
   * - May be called concurrently, for the same or other channels and groups.
   * @throws InvalidArgumentError, TransportClosedError (as rejections).
   */
  consume(channel: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription>;

  /**
   * Dead-lettered messages of a channel (and group), oldest first.
   * @throws UnsupportedFeatureError without `features.deadLetter`; TransportClosedError.
   */
  deadLetters(channel: string, options?: { group?: string; limit?: number }): Promise<DeadLetter[]>;

  /**
   * Sends dead-lettered messages back to their group for another full set of attempts and removes
   * them from the dead-letter place. No ids: all of the channel's. Returns how many were re-driven.
   * A re-driven message keeps its id, key and headers.
   * @throws UnsupportedFeatureError without `features.deadLetter`; TransportClosedError.
   */
  redrive(channel: string, options?: { group?: string; ids?: readonly string[] }): Promise<number>;

  /**
   * Messages waiting (including delayed and in flight) in a channel for a group.
   * @throws UnsupportedFeatureError without `features.depth`; TransportClosedError.
   */
  depth(channel: string, options?: { group?: string }): Promise<number>;

  /**
   * Optional: whether the transport can work now — its broker reachable, each consumer this
   * transport started in its group and receiving. Resolves within a few seconds and never rejects:
   * a check that could not be made is reported `down` with the reason. After `close()`: `down`.
   */
  health?(): Promise<readonly HealthCheck[]>;

  /**
   * Closes the transport, in this order: stops taking new messages; waits for the handlers in
   * flight and acknowledges them (as `Subscription.close`); finishes the sends already called
   * (each one resolves, having been accepted, or rejects; none is dropped after resolving); then
   * closes the connections the transport opened itself (never a client passed in by the caller).
   * Idempotent: a second call waits for the same close.
   */
  close(): Promise<void>;
}

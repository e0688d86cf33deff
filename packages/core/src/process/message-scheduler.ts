import type { TransportMessage } from '../ports/transport';

/**
 * The MessageScheduler port: keeps a message until it is due, then has it sent. Process managers
 * schedule their timeouts through one when the transport cannot delay a message itself (Kafka);
 * without a scheduler they send timeouts with the transport's own delay (memory, BullMQ).
 */
export interface MessageScheduler {
  /** Adapter name, e.g. `postgres`. */
  readonly name: string;

  /**
   * Keeps `message` to be sent to `channel` once `dueAt` (ms since the epoch) has come. Inside a
   * transaction of the scheduler's own transaction manager it joins that transaction: nothing is
   * kept when it rolls back. Delivery is at-least-once, never before `dueAt`.
   * @throws InvalidArgumentError for an empty channel, a malformed message or a `dueAt` that is
   *   not a finite number.
   */
  schedule(channel: string, message: TransportMessage, dueAt: number): Promise<void>;
}

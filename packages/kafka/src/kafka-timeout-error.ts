import { FinAegisError } from '@finaegis/core';

/**
 * A Kafka step the transport waits for did not finish in time: a consumer that did not join its
 * group within `joinTimeoutMs`, or a dead-letter topic that could not be read within it. It exists
 * so that callers can tell a slow or overloaded cluster (retry later) from a broker that refused,
 * without matching message text. Retryable: the same call may well succeed a moment later.
 */
export class KafkaTimeoutError extends FinAegisError {
  readonly code = 'KAFKA_TIMEOUT';
  override readonly retryable = true;
  /** What the transport was waiting for, e.g. `join the group of orders as billing`. */
  readonly operation: string;
  /** How long it waited, in ms. */
  readonly timeoutMs: number;

  constructor(operation: string, timeoutMs: number) {
    super(`could not ${operation} within ${timeoutMs} ms`, { adapter: '@finaegis/kafka' });
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

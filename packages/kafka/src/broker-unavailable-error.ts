import { FinAegisError } from '@finaegis/core';

/**
 * No broker could be reached for longer than the transport's `outageTimeoutMs`, so it stopped
 * waiting. It exists so that callers can tell "the cluster is gone" (retry later, alert) from a
 * broker that answered and refused (a bad topic, an authorisation error), which kafkajs reports
 * with the same generic error classes. A send rejected with it may still have been written if the
 * broker came back at the last moment: delivery stays at-least-once.
 */
export class BrokerUnavailableError extends FinAegisError {
  readonly code = 'BROKER_UNAVAILABLE';
  override readonly retryable = true;
  /** What the transport was doing: `send`, `create topics`, `consume <topic> as <group>`. */
  readonly operation: string;
  /** How long it waited for a broker before giving up, in ms. */
  readonly waitedMs: number;

  constructor(operation: string, waitedMs: number, options: { cause: unknown; why?: string }) {
    const last = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(
      `could not ${operation}: no broker reachable for ${waitedMs} ms` +
        `${options.why ? ` (${options.why})` : ''}; last error: ${last}`,
      { cause: options.cause, adapter: '@finaegis/kafka' },
    );
    this.operation = operation;
    this.waitedMs = waitedMs;
  }
}

import { FinAegisError } from '@finaegis/core';

/**
 * A send failed because a partition had fewer in-sync replicas than its topic's
 * `min.insync.replicas` for longer than the transport's `outageTimeoutMs` (brokers are down or
 * lagging): Kafka refuses an acks=all write it cannot replicate enough. It exists so that callers
 * can tell "the cluster is degraded, the record is not safe yet" (alert, retry later) from a
 * cluster that cannot be reached at all (`BrokerUnavailableError`). Such a send may still have
 * been written to the partition's leader (`NOT_ENOUGH_REPLICAS_AFTER_APPEND`) and be delivered
 * later: delivery stays at-least-once.
 */
export class NotEnoughReplicasError extends FinAegisError {
  readonly code = 'NOT_ENOUGH_REPLICAS';
  override readonly retryable = true;
  /** What the transport was doing (`send`). */
  readonly operation: string;
  /** How long it waited for enough in-sync replicas before giving up, in ms. */
  readonly waitedMs: number;

  constructor(operation: string, waitedMs: number, options: { cause: unknown; why?: string }) {
    const last = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(
      `could not ${operation}: fewer in-sync replicas than min.insync.replicas for ${waitedMs} ms` +
        `${options.why ? ` (${options.why})` : ''}; last error: ${last}`,
      { cause: options.cause, adapter: '@finaegis/kafka' },
    );
    this.operation = operation;
    this.waitedMs = waitedMs;
  }
}

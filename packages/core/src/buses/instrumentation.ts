import type { ReceivedMessage } from '../ports/transport';
import type { Middleware } from './middleware';

/** What an instrumentation sees of one async message as it leaves. */
export interface SendContext {
  /** The channel (queue/topic) it goes to. */
  readonly channel: string;
  readonly kind: 'command' | 'event';
  /** The message's wire name. */
  readonly messageType: string;
  readonly messageId: string;
  readonly key: string | undefined;
  /**
   * How it leaves: `send` (straight to the transport), `enqueue` (an outbox row in the running
   * transaction) or `hold` (kept by the unit of work and sent after commit).
   */
  readonly via: 'send' | 'enqueue' | 'hold';
  /** The message's correlation id, when it has one (an event's `correlationId`). */
  readonly correlationId: string | undefined;
}

/** What an instrumentation sees of one async message a worker handles. */
export interface ConsumeContext {
  readonly channel: string;
  readonly group: string;
  readonly kind: 'command' | 'event';
  /** The received message: id, type, headers (with whatever `send` added), key, attempt. */
  readonly received: ReceivedMessage;
  /** Attempts the consumer's retry policy allows; a failure on the last one dead-letters. */
  readonly maxAttempts: number;
}

/**
 * Hooks for telemetry (see `@finaegis/opentelemetry`), given to `createCqrs({ instrumentation })`.
 * Core has no telemetry dependency; it calls these around the work at the right moments, in the
 * caller's async context, so a tracer sees parents and children as they are.
 */
export interface Instrumentation {
  /** Runs around every dispatch, ask, publish and worker handling, outside every other middleware. */
  readonly middleware?: Middleware;
  /**
   * Runs around one async message leaving (sent, enqueued in an outbox, or held for commit).
   * `headers` is the message's header object, still writable: what the hook adds (a W3C
   * `traceparent`, a send time) travels with the message through every transport, outbox, retry,
   * dead letter and redrive. Call `leave()` once and return its promise.
   */
  readonly send?: (
    context: SendContext,
    headers: Record<string, string>,
    leave: () => Promise<void>,
  ) => Promise<void>;
  /**
   * Runs around a worker's handling of one received message (decode, handlers, unit of work).
   * Call `handle()` once and return its promise (rejecting as it does: the transport retries).
   */
  readonly consume?: (context: ConsumeContext, handle: () => Promise<void>) => Promise<void>;
}

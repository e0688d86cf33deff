import { backoffDelay, isRetryable } from '../adapter/retry';
import { withTimeout } from '../adapter/timeout';
import { HandlerTimeoutError } from '../errors/handler-timeout-error';
import type { Message } from '../messages';
import type { Logger } from '../ports/logger';
import type { BackoffPolicy } from '../ports/transport';

/** Which bus a middleware call comes from. */
export type MessageKind = 'command' | 'query' | 'event';
/** The bus method a middleware call wraps (`consume`: a worker handling a message from the transport). */
export type Operation =
  | 'dispatch'
  | 'dispatchAsync'
  | 'ask'
  | 'askCached'
  | 'publish'
  | 'publishAsync'
  | 'consume';

/** What a middleware sees of one dispatch, ask or publish. */
export interface MiddlewareContext {
  readonly kind: MessageKind;
  readonly operation: Operation;
  readonly message: Message;
  /** The message's wire name. */
  readonly messageType: string;
  /** True when the message is sent to a transport rather than handled here. */
  readonly async: boolean;
  /** For `askCached`: whether the result came from the cache (known after `next()` resolved). */
  cached?: boolean;
  /** For `askCached`: the call shared the handler run of an identical call already in flight. */
  coalesced?: boolean;
}

/**
 * Wraps every dispatch/ask/publish (and the worker's handling of async messages). Call `next()` to
 * go on; its result is the handler's result. Calling `next()` again runs the rest of the chain and
 * the handler again (that is how `retryMiddleware` works).
 */
export type Middleware = (context: MiddlewareContext, next: () => Promise<unknown>) => Promise<unknown>;

/** @internal Runs `last` inside the middleware chain. */
export function runPipeline(
  middleware: readonly Middleware[],
  context: MiddlewareContext,
  last: () => Promise<unknown>,
): Promise<unknown> {
  const step = (index: number): Promise<unknown> => {
    const current = middleware[index];
    if (current === undefined) return last();
    return current(context, () => step(index + 1));
  };
  return step(0);
}

function userOf(message: Message): unknown {
  const fromMetadata = message.metadata.user ?? message.metadata.userId;
  if (fromMetadata !== undefined) return fromMetadata;
  const fields = message as unknown as Record<string, unknown>;
  return fields.userId ?? fields.accountId;
}

const loggingMiddlewares = new WeakSet<Middleware>();

/**
 * Logs the guide's lines: `Command dispatched {"command":"PlaceOrderCommand","user":"123"}`,
 * `Query executed {"query":"GetOrderBookQuery","cached":true}`,
 * `Event published {"event":"OrderPlaced","async":false}`, and failures at error level.
 */
export function loggingMiddleware(logger: Logger): Middleware {
  const middleware: Middleware = async (context, next) => {
    // A worker runs an async command through `dispatch`, which writes its line: one line a command.
    if (context.operation === 'consume' && context.kind === 'command') return next();
    const started = performance.now();
    try {
      const result = await next();
      const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      if (context.kind === 'command') {
        const user = userOf(context.message);
        logger.info('Command dispatched', {
          command: context.messageType,
          ...(user === undefined ? {} : { user: String(user) }),
          ...(context.async ? { async: true } : {}),
          durationMs,
        });
      } else if (context.kind === 'query') {
        logger.info('Query executed', {
          query: context.messageType,
          cached: context.cached === true,
          ...(context.coalesced === true ? { coalesced: true } : {}),
          durationMs,
        });
      } else if (context.operation === 'consume') {
        logger.info('Event handled', { event: context.messageType, durationMs });
      } else {
        logger.info('Event published', { event: context.messageType, async: context.async, durationMs });
      }
      return result;
    } catch (error) {
      logger.error(`${context.kind[0]!.toUpperCase()}${context.kind.slice(1)} failed`, {
        [context.kind]: context.messageType,
        operation: context.operation,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      throw error;
    }
  };
  loggingMiddlewares.add(middleware);
  return middleware;
}

/** @internal Whether a middleware was made by `loggingMiddleware` (so `createCqrs` adds no second one). */
export function isLoggingMiddleware(middleware: Middleware): boolean {
  return loggingMiddlewares.has(middleware);
}

/** One timing sample. */
export interface TimingSample {
  readonly kind: MessageKind;
  readonly operation: Operation;
  readonly messageType: string;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly cached?: boolean;
}

/** Reports how long each dispatch/ask/publish took (for metrics: command execution time etc.). */
export function timingMiddleware(report: (sample: TimingSample) => void): Middleware {
  return async (context, next) => {
    const started = performance.now();
    let ok = false;
    try {
      const result = await next();
      ok = true;
      return result;
    } finally {
      const sample: TimingSample = {
        kind: context.kind,
        operation: context.operation,
        messageType: context.messageType,
        durationMs: performance.now() - started,
        ok,
        ...(context.cached === undefined ? {} : { cached: context.cached }),
      };
      report(sample);
    }
  };
}

/** Options of `retryMiddleware`. */
export interface RetryMiddlewareOptions {
  /** Tries in all, the first included. */
  readonly attempts: number;
  readonly backoff?: BackoffPolicy;
  /** Which errors to retry; default: those not marked `retryable === false`. */
  readonly retryOn?: (error: unknown) => boolean;
  /** Which kinds of message to retry; default: commands only (queries and events rarely want it). */
  readonly kinds?: readonly MessageKind[];
}

/**
 * Re-runs a failing handler. Only for idempotent handlers: a command whose handler failed halfway
 * runs again from the start.
 */
export function retryMiddleware(options: RetryMiddlewareOptions): Middleware {
  const kinds = new Set(options.kinds ?? ['command']);
  const retryOn = options.retryOn ?? isRetryable;
  const backoff = options.backoff ?? { type: 'exponential', delayMs: 50, maxDelayMs: 2000 };
  return async (context, next) => {
    if (!kinds.has(context.kind) || context.async) return next();
    let attempt = 1;
    for (;;) {
      try {
        return await next();
      } catch (error) {
        if (attempt >= options.attempts || !retryOn(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(backoff, attempt)));
        attempt += 1;
      }
    }
  };
}

/** Fails a dispatch/ask/publish with `HandlerTimeoutError` when it takes longer than `timeoutMs`. */
export function timeoutMiddleware(timeoutMs: number): Middleware {
  return (context, next) =>
    withTimeout(next(), timeoutMs, () => new HandlerTimeoutError(context.messageType, timeoutMs));
}

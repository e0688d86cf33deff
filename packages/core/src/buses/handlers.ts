import type { Message } from '../messages';
import { validateMessage } from '../validation';

const LAZY = Symbol('finaegis.lazy');

/** A handler as a function. */
export type HandlerFunction<M, R> = (message: M) => R | Promise<R>;
/** A handler as an object with `handle()` (the guide's handler classes). */
export interface HandlerObject<M, R> {
  handle(message: M): R | Promise<R>;
}
/** A handler built on first use (the guide resolved handler classes from a container). */
export interface LazyHandler<M, R> {
  readonly [LAZY]: () => HandlerFunction<M, R> | HandlerObject<M, R>;
}
/** Any of the three handler forms `register` and `subscribe` accept: a function, an object with `handle()`, or `lazy()`. */
export type Handler<M, R> = HandlerFunction<M, R> | HandlerObject<M, R> | LazyHandler<M, R>;

/** Wraps a factory so the handler is built the first time it is needed, once. */
export function lazy<M, R>(factory: () => HandlerFunction<M, R> | HandlerObject<M, R>): LazyHandler<M, R> {
  return { [LAZY]: factory };
}

/** A readable name for logs and errors. */
export function handlerName(handler: unknown): string {
  if (typeof handler === 'function') return handler.name || 'anonymous function';
  if (typeof handler === 'object' && handler !== null) {
    if (LAZY in handler) return 'lazy handler';
    return (handler as object).constructor?.name ?? 'handler object';
  }
  return 'handler';
}

/** Turns any handler form into a plain function (lazy ones build on first call). */
export function toHandlerFunction<M, R>(handler: Handler<M, R>): HandlerFunction<M, R> {
  if (typeof handler === 'function') return handler;
  if (LAZY in handler) {
    let built: HandlerFunction<M, R> | undefined;
    const factory = handler[LAZY];
    return (message: M) => {
      built ??= toHandlerFunction(factory());
      return built(message);
    };
  }
  if (typeof handler.handle !== 'function')
    throw new TypeError('[@finaegis/core] a handler object needs a handle() method');
  return (message: M) => handler.handle(message);
}

/**
 * @internal Builds, once per registration, the function the bus calls for each message: it
 * validates (only when the class has checks), runs the handler and turns its errors into the
 * bus's typed error. Kept flat because it is the whole cost of an in-process dispatch.
 */
export function makeInvoker<M extends Message, R>(
  type: string,
  handler: Handler<M, R>,
  validates: boolean,
  wrapError: (type: string, error: unknown) => Error,
): (message: M) => Promise<R> {
  const run = toHandlerFunction(handler);
  const onRejected = (error: unknown): never => {
    throw wrapError(type, error);
  };
  const invoke = (message: M): Promise<R> => {
    let result: R | Promise<R>;
    try {
      result = run(message);
    } catch (error) {
      return Promise.reject(wrapError(type, error));
    }
    return result instanceof Promise ? result.then(undefined, onRejected) : Promise.resolve(result);
  };
  if (!validates) return invoke;
  return (message: M): Promise<R> => {
    let pending: void | Promise<void>;
    try {
      pending = validateMessage(message, type);
    } catch (error) {
      return Promise.reject(wrapError(type, error));
    }
    return pending === undefined ? invoke(message) : pending.then(() => invoke(message), onRejected);
  };
}

import { inspect } from 'node:util';
import { DomainEvent, Message, type MessageClass, messageTypeOf } from '@finaegis/core';

/**
 * A test runner's expectation object, such as vitest's or jest's `expect.any(String)` or
 * `expect.stringContaining('BTC')`: anything with `asymmetricMatch`. Matched by calling it, so the
 * kit needs no runner to understand them.
 */
export interface AsymmetricMatcher {
  asymmetricMatch(actual: unknown): boolean;
}

/**
 * How a value may be expected: itself, a `RegExp` for a string, a runner's asymmetric matcher,
 * and for objects and arrays the same, deeply, with every object field optional (fields left out
 * are not checked).
 */
export type Expected<T> =
  | AsymmetricMatcher
  | (T extends string
      ? T | RegExp
      : T extends readonly (infer U)[]
        ? readonly Expected<U>[]
        : T extends Date | bigint | number | boolean | null | undefined
          ? T
          : T extends object
            ? { readonly [K in keyof T]?: Expected<T[K]> }
            : T);

/** The data fields of a message: its own fields and readable identity (not its methods). */
export type DataKeys<M> = {
  [K in keyof M]-?: K extends string
    ? NonNullable<M[K]> extends (...args: never[]) => unknown
      ? never
      : K
    : never;
}[keyof M];

/** The fields a test may name when it expects a message of type `M` (`{ pair: 'BTC/USD' }`). */
export type ExpectedFields<M> = { readonly [K in DataKeys<M>]?: Expected<M[K]> };

/** A message class, as specs and matchers take it (`OrderPlaced`, `PlaceOrderCommand`). */
export type AnyMessageClass<M extends Message = Message> = MessageClass<M>;

/** @internal Whether `value` is a runner's asymmetric matcher. */
export function isAsymmetric(value: unknown): value is AsymmetricMatcher {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<AsymmetricMatcher>).asymmetricMatch === 'function'
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** @internal A value as a test failure shows it. */
export function show(value: unknown): string {
  if (value instanceof Message) return describeMessage(value);
  return inspect(value, { depth: 6, breakLength: Number.POSITIVE_INFINITY, compact: true, sorted: false });
}

/** @internal A message as failures show it: its wire name and its fields. */
export function describeMessage(message: Message): string {
  return `${typeName(message)} ${inspect(message.toPayload(), { depth: 6, breakLength: Number.POSITIVE_INFINITY, compact: true })}`;
}

/** @internal The wire name of a message or class, or its class name when it declares none. */
export function typeName(target: Message | MessageClass): string {
  try {
    return messageTypeOf(target);
  } catch {
    const ctor = typeof target === 'function' ? target : target.constructor;
    return ctor.name || '(anonymous)';
  }
}

/**
 * @internal Where `actual` differs from `expected`, or `undefined` when it matches. `partial`:
 * object fields that `expected` leaves out are not checked (at every depth); otherwise both must
 * have the same fields. Messages inside are compared by class and payload.
 */
export function mismatch(
  actual: unknown,
  expected: unknown,
  partial: boolean,
  path = '',
): string | undefined {
  const at = path === '' ? '' : `${path}: `;
  if (isAsymmetric(expected)) {
    return expected.asymmetricMatch(actual)
      ? undefined
      : `${at}expected ${show(expected)}, got ${show(actual)}`;
  }
  if (expected instanceof RegExp) {
    if (typeof actual === 'string') {
      return expected.test(actual) ? undefined : `${at}expected a match of ${expected}, got ${show(actual)}`;
    }
    return actual instanceof RegExp && actual.source === expected.source && actual.flags === expected.flags
      ? undefined
      : `${at}expected ${expected}, got ${show(actual)}`;
  }
  if (expected instanceof Date) {
    return actual instanceof Date && actual.getTime() === expected.getTime()
      ? undefined
      : `${at}expected ${show(expected)}, got ${show(actual)}`;
  }
  if (expected instanceof Message) {
    if (!(actual instanceof Message) || actual.constructor !== expected.constructor) {
      return `${at}expected ${describeMessage(expected)}, got ${show(actual)}`;
    }
    return mismatch(actual.toPayload(), expected.toPayload(), partial, path);
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}expected an array, got ${show(actual)}`;
    if (actual.length !== expected.length) {
      return `${at}expected ${expected.length} item(s), got ${actual.length}: ${show(actual)}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const found = mismatch(actual[i], expected[i], partial, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null) return `${at}expected an object, got ${show(actual)}`;
    const fields = actual as Record<string, unknown>;
    for (const key of Object.keys(expected)) {
      const found = mismatch(
        fields[key],
        (expected as Record<string, unknown>)[key],
        partial,
        path === '' ? key : `${path}.${key}`,
      );
      if (found !== undefined) return found;
    }
    if (!partial && isPlainObject(actual)) {
      const extra = Object.keys(actual).filter((key) => !(key in expected) && actual[key] !== undefined);
      if (extra.length > 0) return `${at}unexpected field(s) ${extra.join(', ')} in ${show(actual)}`;
    }
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${at}expected ${show(expected)}, got ${show(actual)}`;
}

/**
 * @internal `actual` cut down to the fields `expected` names (at every depth), so that a runner's
 * diff of the two shows only what the test looked at.
 */
export function shapedLike(actual: unknown, expected: unknown): unknown {
  if (actual instanceof Message && !(expected instanceof Message)) {
    return shapedLike(actual.toPayload(), expected);
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    return actual.map((item, i) => (i < expected.length ? shapedLike(item, expected[i]) : item));
  }
  if (
    isPlainObject(expected) &&
    typeof actual === 'object' &&
    actual !== null &&
    !Array.isArray(actual) &&
    !(actual instanceof Date)
  ) {
    const fields = actual as Record<string, unknown>;
    const shaped: Record<string, unknown> = {};
    for (const key of Object.keys(expected)) shaped[key] = shapedLike(fields[key], expected[key]);
    return shaped;
  }
  return actual;
}

/** @internal Whether `message` is of `messageClass` (the same class, or a subclass of it). */
export function isOf(message: unknown, messageClass: MessageClass): boolean {
  return message instanceof (messageClass as unknown as abstract new (...args: never[]) => unknown);
}

/** @internal Whether `value` is a domain event. */
export function isEvent(value: unknown): value is DomainEvent {
  return value instanceof DomainEvent;
}

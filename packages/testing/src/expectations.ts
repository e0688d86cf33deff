import { InvalidArgumentError, Message } from '@finaegis/core';
import {
  type AnyMessageClass,
  describeMessage,
  type ExpectedFields,
  isOf,
  mismatch,
  shapedLike,
  show,
  typeName,
} from './match';
import { SpecAssertionError } from './spec-assertion-error';

const ADAPTER = '@finaegis/testing';
const LIKE = Symbol.for('@finaegis/testing: like');

/**
 * An expected message given by its class and some of its fields: `like(OrderPlaced, { pair:
 * 'BTC/USD' })` matches any `OrderPlaced` whose `pair` is `'BTC/USD'`. Made by {@link like}.
 */
export interface Like<C extends AnyMessageClass = AnyMessageClass> {
  /** The class the message must be an instance of. */
  readonly messageClass: C;
  /** The fields checked (deeply, leaving out what is not named); none: any message of the class. */
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}

/**
 * Expects a message of `messageClass` with (at least) `fields`. Field values may be plain values,
 * a `RegExp` for a string, or a runner's asymmetric matcher (`expect.any(String)`). The fields are
 * typed by the class: a field it does not have is a compile error.
 */
export function like<C extends AnyMessageClass>(
  messageClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
): Like<C> {
  if (typeof messageClass !== 'function') {
    throw new InvalidArgumentError(ADAPTER, 'messageClass', 'must be a message class');
  }
  const expectation = { messageClass, fields: fields as Readonly<Record<string, unknown>> | undefined };
  Object.defineProperty(expectation, LIKE, { value: true });
  return expectation;
}

/** @internal Whether `value` was made by `like()`. */
export function isLike(value: unknown): value is Like {
  return typeof value === 'object' && value !== null && (value as { [LIKE]?: boolean })[LIKE] === true;
}

/** @internal How an expected event is shown in a failure. */
export function describeExpected(expected: unknown): string {
  if (isLike(expected)) {
    return `${typeName(expected.messageClass)} like ${expected.fields === undefined ? '{}' : show(expected.fields)}`;
  }
  return expected instanceof Message ? describeMessage(expected) : show(expected);
}

/** @internal How one actual event differs from one expected, or `undefined` when it matches. */
export function eventMismatch(actual: unknown, expected: unknown): string | undefined {
  if (isLike(expected)) {
    if (!isOf(actual, expected.messageClass)) {
      return `expected ${typeName(expected.messageClass)}, got ${describeActual(actual)}`;
    }
    return expected.fields === undefined
      ? undefined
      : mismatch((actual as Message).toPayload(), expected.fields, true);
  }
  return mismatch(actual, expected, false);
}

function describeActual(actual: unknown): string {
  return actual instanceof Message ? describeMessage(actual) : show(actual);
}

/** An expected item as the runner's diff shows it: `{ type, ...fields }`. */
function diffable(expected: unknown): unknown {
  if (isLike(expected)) return { type: typeName(expected.messageClass), ...expected.fields };
  if (expected instanceof Message) return { type: typeName(expected), ...expected.toPayload() };
  return expected;
}

/** The actual item as the diff shows it, cut down to what `expected` looks at. */
function diffableActual(actual: unknown, expected: unknown): unknown {
  if (!(actual instanceof Message)) return shapedLike(actual, expected);
  const type = typeName(actual);
  if (isLike(expected)) {
    if (!isOf(actual, expected.messageClass) || expected.fields === undefined) return { type };
    return { type, ...(shapedLike(actual.toPayload(), expected.fields) as object) };
  }
  return { type, ...actual.toPayload() };
}

/**
 * @internal Checks that `actual` are exactly the `expected` events, in order (`include`: that
 * they appear in `actual` in this order, other events around and between them allowed).
 * @throws SpecAssertionError naming the first event that differs.
 */
export function checkEvents(
  actual: readonly unknown[],
  expected: readonly unknown[],
  mode: 'exact' | 'include',
  what: string,
  noun = 'event',
): void {
  const fail = (problem: string): never => {
    throw new SpecAssertionError(
      `${what}: ${problem}\n  expected:\n${lines(expected.map(describeExpected))}\n  actual:\n${lines(actual.map(describeActual))}`,
      {
        expected: expected.map(diffable),
        actual:
          mode === 'exact'
            ? actual.map((event, i) => diffableActual(event, expected[i]))
            : actual.map((event) => diffableActual(event, undefined)),
      },
    );
  };
  if (mode === 'exact') {
    for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
      if (i >= actual.length) fail(`${noun} ${i + 1} is missing (${describeExpected(expected[i])})`);
      if (i >= expected.length) fail(`${noun} ${i + 1} was not expected (${describeActual(actual[i])})`);
      const problem = eventMismatch(actual[i], expected[i]);
      if (problem !== undefined) fail(`${noun} ${i + 1}: ${problem}`);
    }
    return;
  }
  let from = 0;
  for (const [i, item] of expected.entries()) {
    let found = -1;
    for (let j = from; j < actual.length; j++) {
      if (eventMismatch(actual[j], item) === undefined) {
        found = j;
        break;
      }
    }
    if (found < 0) {
      fail(
        `expected ${noun} ${i + 1} (${describeExpected(item)}) ${from === 0 ? 'is not among them' : `does not follow ${noun} ${from}`}`,
      );
    }
    from = found + 1;
  }
}

function lines(items: readonly string[]): string {
  return items.length === 0 ? '    (none)' : items.map((item, i) => `    ${i + 1}. ${item}`).join('\n');
}

/** An error class, as `thenError` takes it. */
export type ErrorClass<E extends Error = Error> = abstract new (...args: never[]) => E;

/**
 * @internal Checks that `thrown` is an instance of `errorClass` whose message contains `message`
 * (a string) or matches it (a RegExp).
 * @throws SpecAssertionError otherwise.
 */
export function checkError(
  thrown: { readonly error: unknown } | undefined,
  errorClass: ErrorClass,
  message: string | RegExp | undefined,
  what: string,
  events: readonly unknown[],
): void {
  const expectedName = errorClass.name || 'an error';
  const expectation = message === undefined ? expectedName : `${expectedName} (${String(message)})`;
  if (thrown === undefined) {
    throw new SpecAssertionError(
      `${what}: expected ${expectation} to be thrown, but nothing was thrown; events:\n${lines(events.map(describeActual))}`,
      { expected: expectation, actual: 'nothing thrown' },
    );
  }
  const error = thrown.error;
  const text = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : typeof error;
  if (!(error instanceof errorClass)) {
    throw new SpecAssertionError(`${what}: expected ${expectation}, got ${name}: ${text}`, {
      expected: expectation,
      actual: `${name}: ${text}`,
      cause: error,
    });
  }
  const matches =
    message === undefined || (typeof message === 'string' ? text.includes(message) : message.test(text));
  if (!matches) {
    throw new SpecAssertionError(
      `${what}: expected ${expectedName} with a message ${typeof message === 'string' ? 'containing' : 'matching'} ${show(message)}, got: ${text}`,
      { expected: message, actual: text, cause: error },
    );
  }
}

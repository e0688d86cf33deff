import { InvalidArgumentError } from '../errors/invalid-argument-error';
import { UnsupportedFeatureError } from '../errors/unsupported-feature-error';
import type { RetryPolicy, SendOptions, Transport, TransportMessage } from '../ports/transport';
import { DEFAULT_RETRY_POLICY } from './retry';

/**
 * Checks send options against declared features; adapters call it first in `send`.
 * @param adapter The package refusing it (default `@finaegis/core`, the buses).
 * @throws UnsupportedFeatureError
 */
export function assertSendSupported(
  transport: Pick<Transport, 'name' | 'features'>,
  options?: SendOptions,
  adapter?: string,
): void {
  if (!options) return;
  const fail = (feature: string) => {
    throw new UnsupportedFeatureError(
      transport.name,
      feature,
      undefined,
      adapter === undefined ? {} : { adapter },
    );
  };
  if (options.delayMs !== undefined && options.delayMs > 0 && !transport.features.delay) fail('delay');
  if (options.priority !== undefined && options.priority !== 0 && !transport.features.priority)
    fail('priority');
  if (options.dedupeId !== undefined && !transport.features.dedupe) fail('dedupe');
}

/*
 * Input checks shared by every transport adapter, so that bad input fails the same way (an
 * `InvalidArgumentError` naming the argument) whichever adapter is behind the port. `adapter` is
 * the name put in front of the message, e.g. `@finaegis/memory`.
 */

/** A short, never-throwing rendering of a bad value for an error message. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return typeof value === 'bigint' ? `${value}n` : String(value);
  }
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a channel or group name: a non-empty string. Adapters with stricter naming rules (a
 * character set, a length limit) check those after this.
 * @param what The argument's name in the error, e.g. `channel` or `group`.
 * @throws InvalidArgumentError when `value` is not a non-empty string.
 */
export function checkChannelName(adapter: string, what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(adapter, what, `must be a non-empty string, got ${shown(value)}`);
  }
}

/**
 * Checks a message handed to `send` and returns a copy of it, so that a sender changing its object
 * afterwards cannot change what is queued. `id` must be a non-empty string, `type` and `body`
 * strings, `headers` an object of string values (absent is read as `{}`), and `key` a string when
 * present. The copy carries only those five fields.
 * @throws InvalidArgumentError naming the first field that is wrong (`message`, `message.id`, ...).
 */
export function checkTransportMessage(adapter: string, message: unknown): TransportMessage {
  if (!isPlainObject(message)) {
    throw new InvalidArgumentError(adapter, 'message', `must be an object, got ${shown(message)}`);
  }
  // Written out field by field: this runs on every send, so it avoids temporary arrays and spreads.
  const { id, type, body, headers, key } = message;
  if (typeof id !== 'string')
    throw new InvalidArgumentError(adapter, 'message.id', `must be a string, got ${shown(id)}`);
  if (typeof type !== 'string') {
    throw new InvalidArgumentError(adapter, 'message.type', `must be a string, got ${shown(type)}`);
  }
  if (typeof body !== 'string') {
    throw new InvalidArgumentError(adapter, 'message.body', `must be a string, got ${shown(body)}`);
  }
  if (id.length === 0) throw new InvalidArgumentError(adapter, 'message.id', 'must not be empty');
  if (headers !== undefined && !isPlainObject(headers)) {
    throw new InvalidArgumentError(adapter, 'message.headers', `must be an object, got ${shown(headers)}`);
  }
  const copiedHeaders: Record<string, string> = {};
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (typeof value !== 'string') {
        throw new InvalidArgumentError(
          adapter,
          'message.headers',
          `header ${JSON.stringify(name)} must be a string, got ${shown(value)}`,
        );
      }
      // A header named `__proto__` must stay a header, not set the copy's prototype.
      if (name === '__proto__')
        Object.defineProperty(copiedHeaders, name, { value, enumerable: true, writable: true });
      else copiedHeaders[name] = value;
    }
  }
  if (key !== undefined && typeof key !== 'string') {
    throw new InvalidArgumentError(adapter, 'message.key', `must be a string, got ${shown(key)}`);
  }
  return key === undefined
    ? { id, type, body, headers: copiedHeaders }
    : { id, type, body, headers: copiedHeaders, key };
}

/**
 * Checks the values of send options (whether the transport supports them is `assertSendSupported`'s
 * job): `delayMs` a finite number >= 0, `priority` a finite number, `key` a string and `dedupeId` a
 * non-empty string when present. `undefined` options are fine.
 * @throws InvalidArgumentError naming the option.
 */
export function checkSendOptions(adapter: string, options: unknown): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    throw new InvalidArgumentError(adapter, 'options', `must be an object, got ${shown(options)}`);
  }
  const { delayMs, priority, key, dedupeId } = options;
  if (delayMs !== undefined && !(typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new InvalidArgumentError(adapter, 'delayMs', `must be a finite number >= 0, got ${shown(delayMs)}`);
  }
  if (priority !== undefined && !(typeof priority === 'number' && Number.isFinite(priority))) {
    throw new InvalidArgumentError(adapter, 'priority', `must be a finite number, got ${shown(priority)}`);
  }
  if (key !== undefined && typeof key !== 'string') {
    throw new InvalidArgumentError(adapter, 'key', `must be a string, got ${shown(key)}`);
  }
  if (dedupeId !== undefined && !(typeof dedupeId === 'string' && dedupeId.length > 0)) {
    throw new InvalidArgumentError(adapter, 'dedupeId', `must be a non-empty string, got ${shown(dedupeId)}`);
  }
}

/** Consume options with their defaults filled in, as {@link resolveConsumeOptions} returns them. */
export interface ResolvedConsumeOptions {
  readonly group: string;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
}

/**
 * Checks consume options and fills in their defaults: `group` a non-empty string, `concurrency` an
 * integer >= 1 (default 1), `retry.attempts` an integer >= 1, `retry.backoff.type` `exponential` or
 * `fixed`, `retry.backoff.delayMs` a finite number >= 0 and `retry.backoff.maxDelayMs` a number >= 0
 * when present. A missing `retry`, `retry.attempts` or `retry.backoff` comes from
 * {@link DEFAULT_RETRY_POLICY}. The policy returned is a copy.
 * @throws InvalidArgumentError naming the option (`group`, `concurrency`, `retry.attempts`, ...).
 */
export function resolveConsumeOptions(adapter: string, options: unknown): ResolvedConsumeOptions {
  if (!isPlainObject(options)) {
    throw new InvalidArgumentError(
      adapter,
      'options',
      `must be an object with a group, got ${shown(options)}`,
    );
  }
  const { group, concurrency = 1, retry = DEFAULT_RETRY_POLICY } = options;
  checkChannelName(adapter, 'group', group);
  if (!(typeof concurrency === 'number' && Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new InvalidArgumentError(
      adapter,
      'concurrency',
      `must be an integer >= 1, got ${shown(concurrency)}`,
    );
  }
  if (!isPlainObject(retry)) {
    throw new InvalidArgumentError(adapter, 'retry', `must be an object, got ${shown(retry)}`);
  }
  const { attempts = DEFAULT_RETRY_POLICY.attempts, backoff = DEFAULT_RETRY_POLICY.backoff } = retry;
  if (!(typeof attempts === 'number' && Number.isInteger(attempts) && attempts >= 1)) {
    throw new InvalidArgumentError(
      adapter,
      'retry.attempts',
      `must be an integer >= 1, got ${shown(attempts)}`,
    );
  }
  if (!isPlainObject(backoff)) {
    throw new InvalidArgumentError(adapter, 'retry.backoff', `must be an object, got ${shown(backoff)}`);
  }
  const { type, delayMs, maxDelayMs } = backoff;
  if (type !== 'exponential' && type !== 'fixed') {
    throw new InvalidArgumentError(
      adapter,
      'retry.backoff.type',
      `must be "exponential" or "fixed", got ${shown(type)}`,
    );
  }
  if (!(typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new InvalidArgumentError(
      adapter,
      'retry.backoff.delayMs',
      `must be a finite number >= 0, got ${shown(delayMs)}`,
    );
  }
  // Infinity is allowed: it is what "no cap" means to backoffDelay.
  if (maxDelayMs !== undefined && !(typeof maxDelayMs === 'number' && maxDelayMs >= 0)) {
    throw new InvalidArgumentError(
      adapter,
      'retry.backoff.maxDelayMs',
      `must be a number >= 0, got ${shown(maxDelayMs)}`,
    );
  }
  const policy: RetryPolicy = {
    attempts,
    backoff: maxDelayMs === undefined ? { type, delayMs } : { type, delayMs, maxDelayMs },
  };
  return { group, concurrency, retry: policy };
}

/**
 * Checks the arguments of `consume` the same way in every adapter: `channel` a non-empty string,
 * `handler` a function, and the options as {@link resolveConsumeOptions} checks them (whose result
 * it returns). Adapters with stricter naming rules check those after this.
 * @throws InvalidArgumentError naming the argument (`channel`, `handler`, `group`, ...).
 */
export function checkConsumeArguments(
  adapter: string,
  channel: unknown,
  handler: unknown,
  options: unknown,
): ResolvedConsumeOptions {
  checkChannelName(adapter, 'channel', channel);
  if (typeof handler !== 'function') throw new InvalidArgumentError(adapter, 'handler', 'must be a function');
  return resolveConsumeOptions(adapter, options);
}

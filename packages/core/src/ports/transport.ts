import { InvalidArgumentError } from '../errors/invalid-argument-error';
import { MessageDecodeError } from '../errors/message-decode-error';
import { UnsupportedFeatureError } from '../errors/unsupported-feature-error';

/**
 * The Transport port: how async commands and events leave a process and reach workers.
 *
 * Channels are named queues/topics (`commands`, `events` from config). A channel is consumed by
 * named consumer groups: every group receives every message sent to the channel, and within a
 * group each message goes to one consumer (competing consumers). Delivery is at-least-once:
 * handlers must be idempotent; `TransportMessage.id` is stable across redeliveries to help.
 */

/** What a transport can do. A feature an adapter lacks is refused with `UnsupportedFeatureError`. */
export interface TransportFeatures {
  /** `SendOptions.delayMs` is honoured: the message is not delivered before it is due. */
  readonly delay: boolean;
  /** `SendOptions.priority` orders a backlog: higher priority first. */
  readonly priority: boolean;
  /** Messages with the same `key` are handled one at a time, in send order, within a group. */
  readonly orderingByKey: boolean;
  /** Several named groups on one channel each receive every message. */
  readonly consumerGroups: boolean;
  /** Messages that keep failing are kept in a dead-letter place, listable and re-drivable. */
  readonly deadLetter: boolean;
  /** A second send with the same `dedupeId` (while the first is known) is dropped. */
  readonly dedupe: boolean;
  /** Messages survive a restart of this process (they live in a broker). */
  readonly persistent: boolean;
  /** `depth()` reports how many messages wait. */
  readonly depth: boolean;
}

/** A message as the transport carries it. `body` is opaque text (our serialised envelope). */
export interface TransportMessage {
  /** Unique id; stays the same on every redelivery. */
  readonly id: string;
  /** The message's wire type (for routing, logs and dead-letter listings). */
  readonly type: string;
  /** The serialised message. Transports carry it byte for byte. */
  readonly body: string;
  /** String headers, carried intact (unicode included). */
  readonly headers: Readonly<Record<string, string>>;
  /** Ordering / partition key (an aggregate id for events). */
  readonly key?: string;
}

export interface SendOptions {
  /** Deliver no earlier than this many milliseconds from now. Needs `features.delay`. */
  readonly delayMs?: number;
  /** Higher is handled first, 0 (default) lowest. Needs `features.priority`. */
  readonly priority?: number;
  /** Same key → same partition / ordered handling. Overrides `message.key`. */
  readonly key?: string;
  /** Drop a second send with this id. Needs `features.dedupe`. Defaults to nothing (no dedupe). */
  readonly dedupeId?: string;
}

/** A message handed to a consumer. */
export interface ReceivedMessage extends TransportMessage {
  readonly channel: string;
  readonly group: string;
  /** 1 on the first delivery, 2 on the first retry, ... */
  readonly attempt: number;
}

export interface BackoffPolicy {
  /** `exponential`: delayMs × 2^(attempt-1); `fixed`: delayMs each time. */
  readonly type: 'exponential' | 'fixed';
  readonly delayMs: number;
  /** Cap for exponential backoff. */
  readonly maxDelayMs?: number;
}

export interface RetryPolicy {
  /** Deliveries in all, the first included, before the message is dead-lettered. At least 1. */
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
}

export interface ConsumeOptions {
  /** Consumer group name. Every group gets every message; a group's consumers share them. */
  readonly group: string;
  /** Handlers running at once in this consumer. Default 1. */
  readonly concurrency?: number;
  /** Default: 3 attempts, exponential backoff from 100 ms. */
  readonly retry?: RetryPolicy;
}

/**
 * Handles one message. Resolving acknowledges it. Rejecting schedules a retry per the policy,
 * unless the error has `retryable === false`, which dead-letters the message at once.
 */
export type MessageHandler = (message: ReceivedMessage) => Promise<void>;

export interface Subscription {
  /**
   * Stops taking new messages, waits for the handlers in flight to finish and acknowledges them,
   * then leaves the group. Idempotent: a second call waits for the same close.
   */
  close(): Promise<void>;
}

/** A message that kept failing (or could not be decoded) and was set aside. */
export interface DeadLetter {
  /** Id of this dead-letter entry (pass it to `redrive`). */
  readonly id: string;
  readonly channel: string;
  readonly group: string;
  /** The original message. For undecodable input, `body` holds the raw text and `type` is `''`. */
  readonly message: TransportMessage;
  /** The last error: its name and message (and stack when known). */
  readonly error: { readonly name: string; readonly message: string; readonly stack?: string };
  /** Deliveries made before it was dead-lettered. */
  readonly attempts: number;
  /** When it was dead-lettered (ms since epoch). */
  readonly failedAt: number;
}

export interface Transport {
  /** Adapter name used in error messages, e.g. `memory`, `bullmq`, `kafka`. */
  readonly name: string;
  readonly features: TransportFeatures;

  /**
   * Sends one message to a channel. Resolves once the transport has accepted it (for a broker:
   * acknowledged it). Safe to call concurrently. Throws `UnsupportedFeatureError` for an option
   * the adapter does not declare.
   */
  send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void>;

  /**
   * Starts consuming a channel as one consumer of `options.group`. Messages the body of which
   * cannot be read as a transport message are dead-lettered with a `MessageDecodeError`, and the
   * consumer goes on.
   */
  consume(channel: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription>;

  /** Dead-lettered messages of a channel (and group), oldest first. Needs `features.deadLetter`. */
  deadLetters(channel: string, options?: { group?: string; limit?: number }): Promise<DeadLetter[]>;

  /**
   * Sends dead-lettered messages back to their group for another full set of attempts and removes
   * them from the dead-letter place. No ids: all of the channel's. Returns how many were re-driven.
   */
  redrive(channel: string, options?: { group?: string; ids?: readonly string[] }): Promise<number>;

  /** Messages waiting (including delayed and in flight) in a channel for a group. Needs `features.depth`. */
  depth(channel: string, options?: { group?: string }): Promise<number>;

  /**
   * Closes every subscription (as `Subscription.close`) and the connections the transport opened
   * itself (never a client passed in by the caller). Idempotent.
   */
  close(): Promise<void>;
}

/** Default retry policy of consumers. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 100, maxDelayMs: 30_000 },
};

/** Delay before the next attempt after `attempt` failed deliveries. */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const base =
    policy.type === 'fixed' ? policy.delayMs : policy.delayMs * 2 ** Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(base, policy.maxDelayMs ?? Number.POSITIVE_INFINITY);
}

/** Whether an error asks not to be retried (`retryable === false`). */
export function isRetryable(error: unknown): boolean {
  return !(
    typeof error === 'object' &&
    error !== null &&
    (error as { retryable?: unknown }).retryable === false
  );
}

/** The `{ name, message, stack }` stored with a dead letter. */
export function describeError(error: unknown): { name: string; message: string; stack?: string } {
  if (error instanceof Error) {
    return error.stack === undefined
      ? { name: error.name, message: error.message }
      : { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * Checks send options against declared features; adapters call it first in `send`.
 * @throws UnsupportedFeatureError
 */
export function assertSendSupported(
  transport: Pick<Transport, 'name' | 'features'>,
  options?: SendOptions,
): void {
  if (!options) return;
  const fail = (feature: string) => {
    throw new UnsupportedFeatureError(transport.name, feature);
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

/** Encodes a TransportMessage as the single JSON text that broker adapters store. */
export function encodeTransportMessage(message: TransportMessage): string {
  return JSON.stringify({
    id: message.id,
    type: message.type,
    body: message.body,
    headers: message.headers,
    ...(message.key === undefined ? {} : { key: message.key }),
  });
}

/**
 * Decodes what `encodeTransportMessage` wrote.
 * @throws MessageDecodeError when the text is not such a message.
 */
export function decodeTransportMessage(text: string): TransportMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MessageDecodeError(`transport message is not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null)
    throw new MessageDecodeError('transport message is not an object');
  const v = value as Record<string, unknown>;
  const headersOk =
    typeof v.headers === 'object' &&
    v.headers !== null &&
    Object.values(v.headers as Record<string, unknown>).every((h) => typeof h === 'string');
  if (typeof v.id !== 'string' || typeof v.type !== 'string' || typeof v.body !== 'string' || !headersOk) {
    throw new MessageDecodeError('transport message needs string id, type and body, and string headers');
  }
  if (v.key !== undefined && typeof v.key !== 'string') throw new MessageDecodeError('key must be a string');
  return v as unknown as TransportMessage;
}

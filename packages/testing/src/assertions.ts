import type { Command, DomainEvent, Message, MessageClass, Query, ResultOf } from '@finaegis/core';
import {
  describeMessage,
  type Expected,
  type ExpectedFields,
  isOf,
  mismatch,
  shapedLike,
  show,
  typeName,
} from './match';
import type { Recorded } from './recorder';
import { SpecAssertionError } from './spec-assertion-error';

/** Options of the dispatched and published checks. */
export interface BusCheckOptions {
  /** Exactly this many matching calls (0: none). Default: at least one. */
  readonly times?: number;
  /** Only calls to the transport (`true`) or only calls handled in process (`false`). Default: both. */
  readonly async?: boolean;
}

/** Options of the sent check. */
export interface SentCheckOptions {
  /** Exactly this many matching sends (0: none). Default: at least one. */
  readonly times?: number;
  /** Only sends to this channel. */
  readonly channel?: string;
  /** Only sends with this delay, in ms (`0`: sends without a delay). */
  readonly delayMs?: number;
  /** Only sends with this ordering key. */
  readonly key?: string;
}

/** Options of the cached check. */
export interface CachedCheckOptions<R = unknown> {
  /** The cached result must match this (deeply; object fields left out are not checked). */
  readonly value?: Expected<R>;
  /**
   * `true` (default): an entry must be in the cache now (not expired on the clock, not invalidated).
   * `false`: a result was written at some point.
   */
  readonly live?: boolean;
}

/** Options of the dead-lettered check. */
export interface DeadLetteredCheckOptions {
  /** Exactly this many matching dead letters (0: none). Default: at least one. */
  readonly times?: number;
}

/** A check's verdict, in the form `expect.extend` matchers return. */
export interface CheckResult {
  readonly pass: boolean;
  /** The failure text (for `.not`, the text saying it matched). */
  message(): string;
  readonly actual: unknown;
  readonly expected: unknown;
}

interface Candidate {
  /** The message, or undefined for one that reached the transport from elsewhere. */
  readonly message: Message | undefined;
  readonly type: string;
  /** Why it does not count although of the class (`channel is x`), or undefined. */
  readonly excluded: string | undefined;
}

function ofClass(candidate: Candidate, messageClass: MessageClass): boolean {
  return candidate.message !== undefined
    ? isOf(candidate.message, messageClass)
    : candidate.type === (messageClass as { messageType?: string }).messageType;
}

function check(
  verb: string,
  candidates: readonly Candidate[],
  messageClass: MessageClass,
  fields: unknown,
  times: number | undefined,
): CheckResult {
  const name = typeName(messageClass);
  const wanted = `${name}${fields === undefined ? '' : ` like ${show(fields)}`}${times === undefined ? '' : ` ${times} time(s)`}`;
  const sameClass = candidates.filter((c) => ofClass(c, messageClass));
  const problems = sameClass.map((c) => {
    if (c.excluded !== undefined) return c.excluded;
    if (fields === undefined) return undefined;
    if (c.message === undefined) return 'sent from outside these buses: its fields are unknown';
    return mismatch(c.message, fields, true);
  });
  const matching = sameClass.filter((_, i) => problems[i] === undefined);
  const pass = times === undefined ? matching.length > 0 : matching.length === times;
  const listed =
    candidates.length === 0
      ? ' nothing'
      : `\n${candidates.map((c, i) => `    ${i + 1}. ${c.message === undefined ? c.type : describeMessage(c.message)}`).join('\n')}`;
  const firstProblem = problems.find((p) => p !== undefined);
  return {
    pass,
    message: () =>
      pass
        ? `expected the app not to have ${verb} ${wanted}, but it did (${matching.length} time(s)); ${verb}:${listed}`
        : `expected the app to have ${verb} ${wanted}, but ${matching.length === 0 ? 'it did not' : `it did ${matching.length} time(s)`}${firstProblem === undefined ? '' : ` (closest ${name}: ${firstProblem})`}; ${verb}:${listed}`,
    expected: fields ?? name,
    // The closest candidate (the first of the class), cut to the fields asked for: a diff of one against one.
    actual: closest(sameClass[0], fields),
  };
}

function closest(candidate: Candidate | undefined, fields: unknown): unknown {
  if (candidate === undefined) return undefined;
  if (candidate.message === undefined) return candidate.type;
  return fields === undefined ? typeName(candidate.message) : shapedLike(candidate.message, fields);
}

/** Whether the app dispatched a command of `commandClass` with these fields (see {@link assertDispatched}). */
export function checkDispatched<C extends MessageClass<Command<unknown>>>(
  app: Recorded,
  commandClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
  options: BusCheckOptions = {},
): CheckResult {
  const candidates = app.dispatched.map((r) => ({
    message: r.message,
    type: r.type,
    excluded:
      options.async === undefined || r.async === options.async
        ? undefined
        : `it was dispatched ${r.async ? 'async' : 'in process'}`,
  }));
  return check('dispatched', candidates, commandClass, fields, options.times);
}

/** Whether the app published an event of `eventClass` with these fields (see {@link assertPublished}). */
export function checkPublished<C extends MessageClass<DomainEvent>>(
  app: Recorded,
  eventClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
  options: BusCheckOptions = {},
): CheckResult {
  const candidates = app.published.map((r) => ({
    message: r.message,
    type: r.type,
    excluded:
      options.async === undefined || r.async === options.async
        ? undefined
        : `it was published ${r.async ? 'async' : 'in process'}`,
  }));
  return check('published', candidates, eventClass, fields, options.times);
}

/** Whether a message of `messageClass` with these fields reached the transport (see {@link assertSent}). */
export function checkSent<C extends MessageClass>(
  app: Recorded,
  messageClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
  options: SentCheckOptions = {},
): CheckResult {
  const candidates = app.sent.map((r) => {
    let excluded: string | undefined;
    if (options.channel !== undefined && r.channel !== options.channel)
      excluded = `it went to channel ${r.channel}`;
    else if (options.delayMs !== undefined && (r.delayMs ?? 0) !== options.delayMs)
      excluded = `its delay was ${r.delayMs ?? 0} ms`;
    else if (options.key !== undefined && r.key !== options.key) excluded = `its key was ${show(r.key)}`;
    return { message: r.message, type: r.type, excluded };
  });
  return check('sent', candidates, messageClass, fields, options.times);
}

/** Whether a result of a query of `queryClass` with these fields is cached (see {@link assertCached}). */
export function checkCached<C extends MessageClass<Query<unknown>>>(
  app: Recorded,
  queryClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
  options: CachedCheckOptions<ResultOf<InstanceType<C>>> = {},
): CheckResult {
  const live = options.live ?? true;
  const candidates = app.cacheWrites.map((r) => {
    let excluded: string | undefined;
    if (options.value !== undefined) {
      const problem = mismatch(r.value, options.value, true);
      if (problem !== undefined) excluded = `its cached value differs: ${problem}`;
    }
    if (excluded === undefined && live && !app.isLive(r)) excluded = 'its entry expired or was invalidated';
    return { message: r.query, type: r.query === undefined ? r.namespace : typeName(r.query), excluded };
  });
  return check(live ? 'cached (still live)' : 'cached', candidates, queryClass, fields, undefined);
}

/** Whether a message of `messageClass` with these fields was dead-lettered (see {@link assertDeadLettered}). */
export function checkDeadLettered<C extends MessageClass>(
  app: Recorded,
  messageClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
  options: DeadLetteredCheckOptions = {},
): CheckResult {
  const candidates = app.handled
    .filter((r) => r.outcome === 'dead-letter')
    .map((r) => ({ message: r.message, type: r.type, excluded: undefined }));
  return check('dead-lettered', candidates, messageClass, fields, options.times);
}

function assert(result: CheckResult): void {
  if (!result.pass) {
    throw new SpecAssertionError(result.message(), { actual: result.actual, expected: result.expected });
  }
}

/**
 * Asserts that the app dispatched a command of `commandClass` (in process or async) whose fields
 * match `fields` (deeply; fields left out are not checked); `{ times }` asks for an exact count.
 * @throws SpecAssertionError listing what was dispatched.
 */
export function assertDispatched<C extends MessageClass<Command<unknown>>>(
  app: Recorded,
  commandClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
  options?: BusCheckOptions,
): void {
  assert(checkDispatched(app, commandClass, fields, options));
}

/**
 * Asserts that the app published an event of `eventClass` (in process or async) whose fields match
 * `fields`; `{ times: 0 }` asserts that none was.
 * @throws SpecAssertionError listing what was published.
 */
export function assertPublished<C extends MessageClass<DomainEvent>>(
  app: Recorded,
  eventClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
  options?: BusCheckOptions,
): void {
  assert(checkPublished(app, eventClass, fields, options));
}

/**
 * Asserts that a message of `messageClass` reached the transport (inside a transaction: after
 * commit), optionally on a channel, with a delay or a key.
 * @throws SpecAssertionError listing what was sent.
 */
export function assertSent<C extends MessageClass>(
  app: Recorded,
  messageClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
  options?: SentCheckOptions,
): void {
  assert(checkSent(app, messageClass, fields, options));
}

/**
 * Asserts that the result of a query of `queryClass` with these fields is in the cache now (not
 * expired on the app's clock, not invalidated); `{ live: false }` asks only that it was written.
 * @throws SpecAssertionError listing what was cached.
 */
export function assertCached<C extends MessageClass<Query<unknown>>>(
  app: Recorded,
  queryClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
  options?: CachedCheckOptions<ResultOf<InstanceType<C>>>,
): void {
  assert(checkCached(app, queryClass, fields, options));
}

/**
 * Asserts that a message of `messageClass` was dead-lettered by a worker of the app.
 * @throws SpecAssertionError listing what was dead-lettered.
 */
export function assertDeadLettered<C extends MessageClass>(
  app: Recorded,
  messageClass: C,
  fields?: ExpectedFields<InstanceType<C>>,
  options?: DeadLetteredCheckOptions,
): void {
  assert(checkDeadLettered(app, messageClass, fields, options));
}

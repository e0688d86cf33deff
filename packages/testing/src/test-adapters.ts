import {
  type CacheStore,
  type Command,
  type DomainEvent,
  InvalidArgumentError,
  type Message,
  type MessageClass,
  type MessageRegistry,
  type Middleware,
  type Projection,
  Projector,
  type TransactionManager,
  type Transport,
} from '@finaegis/core';
import {
  createMemoryCacheStore,
  createMemoryCheckpointStore,
  createMemoryEventStore,
  createMemoryTransactionManager,
  createMemoryTransport,
  type MemoryCheckpointStore,
  type MemoryEventStore,
  type MemoryTransport,
} from '@finaegis/memory';
import { memoryBrokerActivity } from '@finaegis/memory/testing';
import { IdleTimeoutError } from './idle-timeout-error';
import { isOf } from './match';
import { type Recorded, Recorder } from './recorder';
import { createTestClock, type TestClock } from './test-clock';

const ADAPTER = '@finaegis/testing';

/** Options of {@link createTestAdapters} and `createTestApp`. */
export interface TestAdaptersOptions {
  /** The clock; default a new `createTestClock()` at the real time now. Share one between apps to move them together. */
  readonly clock?: TestClock;
  /** How long `idle()` waits for work to settle before it fails with `IdleTimeoutError`, in real ms. Default 5,000. */
  readonly idleTimeoutMs?: number;
}

/** Options of `idle()`. */
export interface IdleOptions {
  /** Real milliseconds to wait before failing with `IdleTimeoutError`. Default: the app's `idleTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** The memory adapters of a test, in the shape `createCqrs` and most composition functions take. */
export interface TestAdapterSet {
  /** The memory transport on the test clock, recording every send and delivery. */
  readonly transport: Transport;
  /** The memory cache store on the test clock, recording every write. */
  readonly cache: CacheStore;
  readonly eventStore: MemoryEventStore;
  readonly transactionManager: TransactionManager;
  readonly checkpoints: MemoryCheckpointStore;
}

/**
 * In-memory adapters on a test clock, and what a test needs around them: a middleware that records
 * dispatches and publishes, `idle()` and `advance()`. For apps composed by code of their own
 * (`createMyApp({ adapters, middleware })`); `createTestApp()` does the composing for plain
 * `createCqrs` apps.
 */
export interface TestAdapters extends Recorded {
  readonly clock: TestClock;
  readonly adapters: TestAdapterSet;
  /** The memory transport under the recording one (its `broker`, for `@finaegis/memory/testing`). */
  readonly memoryTransport: MemoryTransport;
  /** Records dispatches and publishes; put it in the app's middleware (any position). */
  readonly middleware: Middleware;
  /**
   * Resolves once everything due so far is handled: every bus call in flight, every async command
   * and event and every retry or delayed message whose time has come on the clock (in groups that
   * have a consumer), and the projections added with `project()` caught up. Messages scheduled for
   * later on the clock are not waited for: `advance()` the clock to them.
   * @throws IdleTimeoutError naming what was still busy after `timeoutMs` real milliseconds.
   * @throws ProjectionError when a projection handler failed while catching up.
   */
  idle(options?: IdleOptions): Promise<void>;
  /** Moves the clock forward by `ms` (see `TestClock.advance`), waiting for `idle()` after each timer. */
  advance(ms: number): Promise<void>;
  /**
   * Keeps `projection` up to date with the event store: every `idle()` catches it up. Returns its
   * projector (for `checkpoint()`, `lag()`, `rebuild()`).
   */
  project(projection: Projection, options: { registry: MessageRegistry }): Projector;
  /** Commands of `commandClass` dispatched so far, in order. */
  dispatchedOf<C extends MessageClass<Command<unknown>>>(commandClass: C): InstanceType<C>[];
  /** Events of `eventClass` published so far, in order. */
  publishedOf<C extends MessageClass<DomainEvent>>(eventClass: C): InstanceType<C>[];
  /** Messages of `messageClass` that reached the transport so far, in order. */
  sentOf<C extends MessageClass>(messageClass: C): InstanceType<C>[];
  /** Forgets what was recorded so far (the adapters keep their contents). */
  clearRecords(): void;
  /** Stops following the clock (for `createTestApp`'s close; adapters are closed by their app). */
  detach(): void;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Creates {@link TestAdapters}: memory adapters on a test clock, with recording and `idle()`. */
export function createTestAdapters(options: TestAdaptersOptions = {}): TestAdapters {
  const clock = options.clock ?? createTestClock();
  const idleTimeoutMs = options.idleTimeoutMs ?? 5_000;
  if (typeof idleTimeoutMs !== 'number' || !Number.isFinite(idleTimeoutMs) || idleTimeoutMs <= 0) {
    throw new InvalidArgumentError(ADAPTER, 'idleTimeoutMs', 'must be a number of milliseconds > 0');
  }
  const recorder = new Recorder(clock.now);
  const memoryTransport = createMemoryTransport({ clock });
  const adapters: TestAdapterSet = {
    transport: recorder.transport(memoryTransport),
    cache: recorder.cache(createMemoryCacheStore({ now: clock.now, sweepIntervalMs: 0 })),
    eventStore: createMemoryEventStore(),
    transactionManager: createMemoryTransactionManager(),
    checkpoints: createMemoryCheckpointStore(),
  };
  const projectors: Projector[] = [];

  /** What is still busy now, one line each; empty when nothing is. */
  const busy = (): string[] => {
    const lines = recorder.running();
    let activity: ReturnType<typeof memoryBrokerActivity>;
    try {
      activity = memoryBrokerActivity(memoryTransport.broker);
    } catch {
      return lines;
    }
    for (const group of activity.groups) {
      const waiting = group.consumers > 0 ? group.due : 0;
      if (waiting > 0 || group.inFlight > 0) {
        lines.push(`${group.channel}/${group.group}: ${group.due} due, ${group.inFlight} in flight`);
      }
    }
    return lines;
  };

  const idle = async (idleOptions: IdleOptions = {}): Promise<void> => {
    const timeoutMs = idleOptions.timeoutMs ?? idleTimeoutMs;
    const started = Date.now();
    for (;;) {
      // Two quiet turns of the event loop in a row: work that just settled may start more on the next.
      let quiet = 0;
      while (quiet < 2) {
        await nextTurn();
        const lines = busy();
        if (lines.length === 0) {
          quiet++;
          continue;
        }
        quiet = 0;
        if (Date.now() - started > timeoutMs) throw new IdleTimeoutError(timeoutMs, lines);
      }
      let applied = 0;
      for (const projector of projectors) applied += (await projector.catchUp()).applied;
      if (applied === 0) return;
    }
  };
  const detach = clock.onSettle(() => idle());

  const messagesOf = <C extends MessageClass>(messages: readonly unknown[], messageClass: C) =>
    messages.filter((message) => isOf(message, messageClass)) as InstanceType<C>[];

  return {
    clock,
    adapters,
    memoryTransport,
    middleware: recorder.middleware,
    get dispatched() {
      return recorder.dispatched;
    },
    get published() {
      return recorder.published;
    },
    get sent() {
      return recorder.sent;
    },
    get handled() {
      return recorder.handled;
    },
    get cacheWrites() {
      return recorder.cacheWrites;
    },
    isLive: (record) => recorder.isLive(record),
    idle,
    advance: (ms) => clock.advance(ms),
    project(projection, projectOptions) {
      if (projectOptions?.registry === undefined) {
        throw new InvalidArgumentError(ADAPTER, 'registry', 'must be the MessageRegistry of the app');
      }
      const projector = new Projector(projection, {
        store: adapters.eventStore,
        checkpoints: adapters.checkpoints,
        registry: projectOptions.registry,
      });
      projectors.push(projector);
      return projector;
    },
    dispatchedOf: (commandClass) =>
      messagesOf(
        recorder.dispatched.map((r) => r.message),
        commandClass,
      ),
    publishedOf: (eventClass) =>
      messagesOf(
        recorder.published.map((r) => r.message),
        eventClass,
      ),
    sentOf: (messageClass) =>
      messagesOf(
        recorder.sent.map((r) => r.message as Message | undefined),
        messageClass,
      ),
    clearRecords: () => recorder.clear(),
    detach,
  };
}

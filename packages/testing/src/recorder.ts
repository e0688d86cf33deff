import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  CacheStore,
  Command,
  ConsumeOptions,
  DeadLetter,
  DomainEvent,
  Message,
  MessageHandler,
  Middleware,
  Query,
  SendOptions,
  Subscription,
  Transport,
  TransportMessage,
} from '@finaegis/core';
import { DEFAULT_RETRY_POLICY, failureDecision } from '@finaegis/core/adapter';

/** One dispatch or publish the buses saw (`dispatch`, `dispatchAsync`, `publish`, `publishAsync`). */
export interface BusRecord<M extends Message = Message> {
  readonly message: M;
  /** The message's wire name. */
  readonly type: string;
  /** Sent to the transport (`dispatchAsync`, `publishAsync`) rather than handled in the call. */
  readonly async: boolean;
  /** When the call was made, on the app's clock (ms since the epoch). */
  readonly at: number;
  /** Whether the call rejected (a handler or subscriber failed); `error` is why. */
  readonly failed: boolean;
  readonly error: unknown;
}

/** One message that reached the transport (after commit, when sent inside a transaction). */
export interface SentRecord {
  readonly channel: string;
  readonly id: string;
  /** The message's wire name. */
  readonly type: string;
  /** The message object that was sent, when it went through these buses. */
  readonly message: Message | undefined;
  readonly delayMs: number | undefined;
  readonly key: string | undefined;
  readonly priority: number | undefined;
  readonly dedupeId: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** When it was sent, on the app's clock. */
  readonly at: number;
}

/** One delivery of a message to a worker, and how it ended. */
export interface HandledRecord {
  readonly channel: string;
  readonly group: string;
  readonly id: string;
  readonly type: string;
  /** The message object that was sent, when it went through these buses. */
  readonly message: Message | undefined;
  /** 1 for the first delivery. */
  readonly attempt: number;
  /** When the delivery began, on the app's clock. */
  readonly at: number;
  /**
   * `running`: the handler has not settled yet; `ack`: handled; `retry`: failed, to be delivered
   * again; `dead-letter`: failed for good.
   */
  readonly outcome: 'running' | 'ack' | 'retry' | 'dead-letter';
  readonly error: unknown;
}

/** One result the query bus put in the cache. */
export interface CacheRecord {
  readonly namespace: string;
  readonly key: string;
  /** The query whose result it is (`askCached`), when the write came from one. */
  readonly query: Query<unknown> | undefined;
  readonly value: unknown;
  readonly ttlSeconds: number;
  /** When it was written, on the app's clock. */
  readonly at: number;
  /** When it expires, on the app's clock. */
  readonly expiresAt: number;
}

/** What a recorder has seen; the matchers and assertion functions read it. */
export interface Recorded {
  /** Commands dispatched, in process or to the transport, in call order (a worker's runs of async commands are not listed again). */
  readonly dispatched: readonly BusRecord<Command<unknown>>[];
  /** Events published, in process or to the transport, in call order (after commit, inside a transaction). */
  readonly published: readonly BusRecord<DomainEvent>[];
  /** Messages that reached the transport, in order. */
  readonly sent: readonly SentRecord[];
  /** Deliveries to workers and how each ended, in the order they began. */
  readonly handled: readonly HandledRecord[];
  /** Results written to the cache, in order. */
  readonly cacheWrites: readonly CacheRecord[];
  /** Whether an entry written for `record` is still in the cache now (not expired, deleted or cleared). */
  isLive(record: CacheRecord): boolean;
}

const RECORDED_OPERATIONS = new Set(['dispatch', 'dispatchAsync', 'publish', 'publishAsync']);

/** @internal Watches the buses (middleware), the transport and the cache of one app. */
export class Recorder implements Recorded {
  readonly dispatched: BusRecord<Command<unknown>>[] = [];
  readonly published: BusRecord<DomainEvent>[] = [];
  readonly sent: SentRecord[] = [];
  readonly handled: HandledRecord[] = [];
  readonly cacheWrites: CacheRecord[] = [];
  /** Bus calls and deliveries not settled yet, by description. */
  readonly #running = new Map<number, string>();
  #nextRun = 0;
  /** Messages sent through the buses, by id, to name what the transport carries. */
  readonly #byId = new Map<string, Message>();
  /** Messages a worker is handling: the bus call it makes for one is not a new dispatch. */
  readonly #consuming = new WeakSet<Message>();
  readonly #asking = new AsyncLocalStorage<Query<unknown>>();
  /** Live cache entries: namespace → key → the write that made them. */
  readonly #live = new Map<string, Map<string, CacheRecord>>();

  constructor(private readonly now: () => number) {}

  /** Descriptions of the bus calls and deliveries still running. */
  running(): string[] {
    return [...this.#running.values()];
  }

  #track<T>(description: string, work: () => Promise<T>): Promise<T> {
    const id = this.#nextRun++;
    this.#running.set(id, description);
    return work().finally(() => this.#running.delete(id));
  }

  readonly middleware: Middleware = (context, next) => {
    const { message, operation } = context;
    if (operation === 'consume') {
      this.#consuming.add(message);
      return this.#track(`handling ${context.messageType}`, next).finally(() =>
        this.#consuming.delete(message),
      );
    }
    if (operation === 'askCached') {
      return this.#asking.run(message as Query<unknown>, () =>
        this.#track(`askCached ${context.messageType}`, next),
      );
    }
    if (!RECORDED_OPERATIONS.has(operation) || (operation === 'dispatch' && this.#consuming.has(message))) {
      return this.#track(`${operation} ${context.messageType}`, next);
    }
    const record = {
      message,
      type: context.messageType,
      async: context.async,
      at: this.now(),
      failed: false,
      error: undefined as unknown,
    };
    if (context.async) this.#byId.set(message.messageId, message);
    (context.kind === 'command' ? this.dispatched : this.published).push(
      record as BusRecord<Command<unknown>> & BusRecord<DomainEvent>,
    );
    return this.#track(`${operation} ${context.messageType}`, next).catch((error: unknown) => {
      record.failed = true;
      record.error = error;
      throw error;
    });
  };

  /** The transport, with every send and delivery recorded. */
  transport(inner: Transport): Transport {
    const recorder = this;
    return {
      get name() {
        return inner.name;
      },
      get features() {
        return inner.features;
      },
      async send(channel: string, message: TransportMessage, options: SendOptions = {}) {
        await inner.send(channel, message, options);
        recorder.sent.push({
          channel,
          id: message.id,
          type: message.type,
          message: recorder.#byId.get(message.id),
          delayMs: options.delayMs,
          key: options.key ?? message.key,
          priority: options.priority,
          dedupeId: options.dedupeId,
          headers: { ...message.headers },
          at: recorder.now(),
        });
      },
      consume(channel: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription> {
        const retry = options?.retry ?? DEFAULT_RETRY_POLICY;
        const watched: MessageHandler =
          typeof handler !== 'function'
            ? handler
            : (received) => {
                const record: { -readonly [K in keyof HandledRecord]: HandledRecord[K] } = {
                  channel,
                  group: received.group,
                  id: received.id,
                  type: received.type,
                  message: recorder.#byId.get(received.id),
                  attempt: received.attempt,
                  at: recorder.now(),
                  outcome: 'running',
                  error: undefined,
                };
                recorder.handled.push(record);
                return recorder.#track(
                  `delivery of ${received.type} on ${channel}/${received.group}`,
                  async () => {
                    try {
                      await handler(received);
                      record.outcome = 'ack';
                    } catch (error) {
                      record.outcome = failureDecision(error, received.attempt, retry).action;
                      record.error = error;
                      throw error;
                    }
                  },
                );
              };
        return inner.consume(channel, watched, options);
      },
      deadLetters: (channel: string, options?: { group?: string; limit?: number }): Promise<DeadLetter[]> =>
        inner.deadLetters(channel, options),
      redrive: (channel: string, options?: { group?: string; ids?: readonly string[] }) =>
        inner.redrive(channel, options),
      depth: (channel: string, options?: { group?: string }) => inner.depth(channel, options),
      close: () => inner.close(),
    };
  }

  /** The cache store, with every write, delete and clear followed. */
  cache(inner: CacheStore): CacheStore {
    const recorder = this;
    const wrapped: CacheStore = {
      get name() {
        return inner.name;
      },
      get: (namespace, key) => inner.get(namespace, key),
      async set(namespace, key, value, ttlSeconds) {
        await inner.set(namespace, key, value, ttlSeconds);
        const at = recorder.now();
        const record: CacheRecord = {
          namespace,
          key,
          query: recorder.#asking.getStore(),
          value,
          ttlSeconds,
          at,
          expiresAt: at + ttlSeconds * 1000,
        };
        recorder.cacheWrites.push(record);
        let entries = recorder.#live.get(namespace);
        if (entries === undefined) {
          entries = new Map();
          recorder.#live.set(namespace, entries);
        }
        entries.set(key, record);
      },
      async delete(namespace, key) {
        const existed = await inner.delete(namespace, key);
        recorder.#live.get(namespace)?.delete(key);
        return existed;
      },
      async clear(namespace) {
        await inner.clear(namespace);
        recorder.#live.delete(namespace);
      },
      close: () => inner.close(),
    };
    if (inner.singleFlight !== undefined) Object.assign(wrapped, { singleFlight: inner.singleFlight });
    return wrapped;
  }

  isLive(record: CacheRecord): boolean {
    return this.#live.get(record.namespace)?.get(record.key) === record && record.expiresAt > this.now();
  }

  /** Forgets everything recorded so far (live cache entries stay known). */
  clear(): void {
    for (const list of [this.dispatched, this.published, this.sent, this.handled, this.cacheWrites])
      list.length = 0;
  }
}

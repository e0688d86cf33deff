import {
  assertSendSupported,
  backoffDelay,
  ConfigError,
  type ConsumeOptions,
  checkChannelName,
  checkSendOptions,
  checkTransportMessage,
  type DeadLetter,
  decodeTransportMessage,
  describeError,
  InvalidArgumentError,
  isRetryable,
  type MessageHandler,
  newId,
  type ReceivedMessage,
  type RetryPolicy,
  resolveConsumeOptions,
  type SendOptions,
  type Subscription,
  type Transport,
  TransportClosedError,
  type TransportFeatures,
  type TransportMessage,
} from '@finaegis/core';
import { Heap } from './heap';

/** Options of a {@link MemoryBroker}. */
export interface MemoryBrokerOptions {
  /** How long a `dedupeId` is remembered per channel, in milliseconds. Default 3,600,000 (one hour). */
  readonly dedupeWindowMs?: number;
}

/** Options of {@link createMemoryTransport}. */
export interface MemoryTransportOptions extends MemoryBrokerOptions {
  /**
   * The broker the transport sends to and consumes from. Several transports on one broker behave
   * like several processes on one message broker (used by the contract suite's crash test).
   * Default: a broker of its own, dropped when the transport closes.
   */
  readonly broker?: MemoryBroker;
}

const FEATURES: TransportFeatures = Object.freeze({
  delay: true,
  priority: true,
  orderingByKey: true,
  consumerGroups: true,
  deadLetter: true,
  dedupe: true,
  persistent: false,
  depth: true,
});

const ADAPTER = '@finaegis/memory';

/** What a send leaves in a channel before it is copied to each group. */
interface Sent {
  readonly seq: number;
  /** A copy of the message, or raw text that is decoded at delivery (as a broker would). */
  readonly payload: TransportMessage | string;
  /** Id used for dead letters of undecodable raw text. */
  readonly rawId: string;
  readonly priority: number;
  readonly key: string | undefined;
  readonly dueAt: number;
}

/** One message in one group. */
interface Entry extends Sent {
  /** Deliveries made so far. */
  attempt: number;
  /** Changes on every delivery, so that a handler abandoned by a crash cannot ack the redelivery. */
  token: number;
  consumer: Consumer | undefined;
}

interface StoredDeadLetter extends DeadLetter {
  readonly sent: Sent;
}

interface Consumer {
  readonly transport: MemoryTransport;
  readonly group: Group;
  readonly handler: MessageHandler;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly inFlight: Set<Entry>;
  idle: (() => void) | undefined;
  closing: Promise<void> | undefined;
}

/** A FIFO whose `shift` is O(1) (a hot key can have a long line behind it). */
class Line {
  private items: Entry[] = [];
  private head = 0;

  push(entry: Entry): void {
    this.items.push(entry);
  }

  shift(): Entry | undefined {
    if (this.head >= this.items.length) return undefined;
    const entry = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }
}

const before = (a: Entry, b: Entry): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;

class Group {
  /** Due messages, highest priority first, then send order. Holds at most one message per key. */
  readonly ready = new Heap<Entry>(before);
  /** Messages not due yet (delayed sends and retries waiting for their backoff). */
  readonly delayed = new Set<Entry>();
  readonly inFlight = new Set<Entry>();
  /**
   * Ordering by key: a key is present while one of its messages is ready, in flight or waiting for
   * a retry; its later messages wait here, in send order, until that one is acked or dead-lettered.
   */
  readonly keyLines = new Map<string, Line>();
  waitingBehindKeys = 0;
  consumers: Consumer[] = [];
  private nextConsumer = 0;

  constructor(
    readonly broker: BrokerState,
    readonly channel: string,
    readonly name: string,
  ) {}

  get depth(): number {
    return this.ready.size + this.delayed.size + this.inFlight.size + this.waitingBehindKeys;
  }

  accept(sent: Sent): void {
    const entry: Entry = { ...sent, attempt: 0, token: 0, consumer: undefined };
    if (entry.dueAt > Date.now()) {
      this.delayed.add(entry);
      this.broker.at(entry.dueAt, () => {
        if (!this.delayed.delete(entry)) return;
        this.admit(entry);
        this.pump();
      });
    } else {
      this.admit(entry);
    }
  }

  /** A message becomes due for the first time: it queues behind earlier messages of its key. */
  private admit(entry: Entry): void {
    if (entry.key === undefined) {
      this.ready.push(entry);
      return;
    }
    const line = this.keyLines.get(entry.key);
    if (line) {
      line.push(entry);
      this.waitingBehindKeys++;
    } else {
      this.keyLines.set(entry.key, new Line());
      this.ready.push(entry);
    }
  }

  /** The message is done with (acked or dead-lettered): the next one of its key may go. */
  private release(entry: Entry): void {
    if (entry.key === undefined) return;
    const line = this.keyLines.get(entry.key);
    const next = line?.shift();
    if (next) {
      this.waitingBehindKeys--;
      this.ready.push(next);
    } else {
      this.keyLines.delete(entry.key);
    }
  }

  pump(): void {
    while (this.ready.size > 0) {
      const consumer = this.freeConsumer();
      if (!consumer) return;
      this.deliver(consumer, this.ready.pop()!);
    }
  }

  private freeConsumer(): Consumer | undefined {
    const count = this.consumers.length;
    for (let i = 0; i < count; i++) {
      const index = (this.nextConsumer + i) % count;
      const consumer = this.consumers[index]!;
      if (consumer.inFlight.size < consumer.concurrency) {
        // Round robin, so that competing consumers share a backlog instead of the first one taking it all.
        this.nextConsumer = (index + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  private deliver(consumer: Consumer, entry: Entry): void {
    entry.attempt++;
    const token = this.broker.nextToken();
    entry.token = token;
    entry.consumer = consumer;
    this.inFlight.add(entry);
    consumer.inFlight.add(entry);
    const attempt = entry.attempt;
    Promise.resolve()
      .then(() => consumer.handler(this.received(entry, attempt)))
      .then(
        () => this.settle(consumer, entry, token, undefined, true),
        (error: unknown) => this.settle(consumer, entry, token, error, false),
      );
  }

  private received(entry: Entry, attempt: number): ReceivedMessage {
    // Raw text is decoded here, as a broker consumer would: a MessageDecodeError (not retryable)
    // sends it to dead-letter through the ordinary failure path.
    const message = typeof entry.payload === 'string' ? decodeTransportMessage(entry.payload) : entry.payload;
    const received: ReceivedMessage = {
      id: message.id,
      type: message.type,
      body: message.body,
      headers: { ...message.headers },
      channel: this.channel,
      group: this.name,
      attempt,
    };
    return message.key === undefined ? received : { ...received, key: message.key };
  }

  private settle(consumer: Consumer, entry: Entry, token: number, error: unknown, ok: boolean): void {
    // A crashed consumer's late result is ignored: its messages were already handed to others.
    if (entry.token !== token) return;
    entry.consumer = undefined;
    this.inFlight.delete(entry);
    consumer.inFlight.delete(entry);
    if (ok) {
      this.release(entry);
    } else if (!isRetryable(error) || entry.attempt >= consumer.retry.attempts) {
      this.broker.deadLetter(this, entry, error);
      this.release(entry);
    } else {
      // The entry keeps its key, so later messages of the key wait for the retry (order by key).
      const dueAt = Date.now() + backoffDelay(consumer.retry.backoff, entry.attempt);
      this.delayed.add(entry);
      this.broker.at(dueAt, () => {
        if (!this.delayed.delete(entry)) return;
        this.ready.push(entry);
        this.pump();
      });
    }
    if (consumer.inFlight.size === 0) consumer.idle?.();
    this.pump();
  }

  add(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.pump();
  }

  remove(consumer: Consumer): void {
    this.consumers = this.consumers.filter((c) => c !== consumer);
    this.nextConsumer = 0;
  }

  /** A consumer died: what it held goes back to the group without an ack and is delivered again. */
  abandon(consumer: Consumer): void {
    this.remove(consumer);
    for (const entry of consumer.inFlight) {
      entry.token = 0;
      entry.consumer = undefined;
      this.inFlight.delete(entry);
      this.ready.push(entry);
    }
    consumer.inFlight.clear();
    consumer.idle?.();
    this.pump();
  }
}

class Channel {
  readonly groups = new Map<string, Group>();
  /** Messages sent while the channel had no group: the first group to consume takes them. */
  backlog: Sent[] = [];
  /** dedupeId → when it is forgotten. Insertion order is expiry order (one window for all). */
  readonly dedupe = new Map<string, number>();
  readonly deadLetters = new Map<string, StoredDeadLetter>();
}

/** The broker's state and workings, kept out of the public surface of {@link MemoryBroker}. */
class BrokerState {
  private readonly channels = new Map<string, Channel>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly dedupeWindowMs: number;
  private seq = 0;
  private token = 0;

  constructor(options: MemoryBrokerOptions = {}) {
    const window = options.dedupeWindowMs ?? 3_600_000;
    if (typeof window !== 'number' || !Number.isFinite(window) || window < 0) {
      throw new ConfigError('dedupeWindowMs', window, 'a number of milliseconds >= 0');
    }
    this.dedupeWindowMs = window;
  }

  channel(name: string): Channel {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = new Channel();
      this.channels.set(name, channel);
    }
    return channel;
  }

  nextToken(): number {
    return ++this.token;
  }

  /** Accepts a send; returns false when the dedupe id was already seen. */
  publish(channelName: string, payload: TransportMessage | string, options: SendOptions): boolean {
    const channel = this.channel(channelName);
    const now = Date.now();
    if (options.dedupeId !== undefined) {
      for (const [id, expiresAt] of channel.dedupe) {
        if (expiresAt > now) break;
        channel.dedupe.delete(id);
      }
      if (channel.dedupe.has(options.dedupeId)) return false;
      channel.dedupe.set(options.dedupeId, now + this.dedupeWindowMs);
    }
    const key = options.key ?? (typeof payload === 'string' ? undefined : payload.key);
    const sent: Sent = {
      seq: ++this.seq,
      payload,
      rawId: typeof payload === 'string' ? newId(now) : payload.id,
      priority: options.priority ?? 0,
      key,
      dueAt: now + (options.delayMs ?? 0),
    };
    this.distribute(channel, sent);
    return true;
  }

  private distribute(channel: Channel, sent: Sent): void {
    if (channel.groups.size === 0) {
      channel.backlog.push(sent);
      return;
    }
    for (const group of channel.groups.values()) {
      group.accept(sent);
      group.pump();
    }
  }

  group(channelName: string, groupName: string): Group {
    const channel = this.channel(channelName);
    let group = channel.groups.get(groupName);
    if (!group) {
      group = new Group(this, channelName, groupName);
      const first = channel.groups.size === 0;
      channel.groups.set(groupName, group);
      if (first) {
        const backlog = channel.backlog;
        channel.backlog = [];
        for (const sent of backlog) group.accept(sent);
      }
    }
    return group;
  }

  /** Runs `fn` no earlier than `dueAt` (timers may fire a millisecond early). */
  at(dueAt: number, fn: () => void): void {
    const wait = dueAt - Date.now();
    if (wait <= 0) {
      queueMicrotask(fn);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.at(dueAt, fn);
    }, wait);
    this.timers.add(timer);
  }

  deadLetter(group: Group, entry: Entry, error: unknown): void {
    const channel = this.channel(group.channel);
    const message: TransportMessage =
      typeof entry.payload === 'string'
        ? { id: entry.rawId, type: '', body: entry.payload, headers: {} }
        : entry.payload;
    const id = newId();
    channel.deadLetters.set(id, {
      id,
      channel: group.channel,
      group: group.name,
      message,
      error: describeError(error),
      attempts: entry.attempt,
      failedAt: Date.now(),
      sent: entry,
    });
  }

  deadLetters(channelName: string, groupName: string | undefined): StoredDeadLetter[] {
    const channel = this.channels.get(channelName);
    if (!channel) return [];
    return [...channel.deadLetters.values()].filter((d) => groupName === undefined || d.group === groupName);
  }

  redrive(channelName: string, groupName: string | undefined, ids: readonly string[] | undefined): number {
    const channel = this.channels.get(channelName);
    if (!channel) return 0;
    const wanted = ids === undefined ? undefined : new Set(ids);
    let count = 0;
    for (const letter of [...channel.deadLetters.values()]) {
      if (groupName !== undefined && letter.group !== groupName) continue;
      if (wanted && !wanted.has(letter.id)) continue;
      channel.deadLetters.delete(letter.id);
      const group = this.group(channelName, letter.group);
      // A fresh send order and no delay: it goes to the back of its group, with all its attempts.
      group.accept({ ...letter.sent, seq: ++this.seq, dueAt: 0 });
      group.pump();
      count++;
    }
    return count;
  }

  depth(channelName: string, groupName: string | undefined): number {
    const channel = this.channels.get(channelName);
    if (!channel) return 0;
    if (channel.groups.size === 0) return channel.backlog.length;
    if (groupName !== undefined) return channel.groups.get(groupName)?.depth ?? 0;
    let deepest = 0;
    for (const group of channel.groups.values()) deepest = Math.max(deepest, group.depth);
    return deepest;
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.channels.clear();
  }
}

const states = new WeakMap<MemoryBroker, BrokerState>();

function stateOf(broker: MemoryBroker): BrokerState {
  const state = states.get(broker);
  if (!state) throw new InvalidArgumentError(ADAPTER, 'broker', 'must be a MemoryBroker');
  return state;
}

/**
 * The in-process message broker behind {@link MemoryTransport}s: channels, consumer groups and
 * their queues, dead letters and timers. A transport creates its own unless given one; share one
 * between transports to model several processes on one broker.
 */
export class MemoryBroker {
  constructor(options: MemoryBrokerOptions = {}) {
    states.set(this, new BrokerState(options));
  }

  /**
   * Sends raw text to a channel as if a foreign producer had written it to the broker. It is
   * decoded at delivery; text that is not a transport message is dead-lettered with a
   * `MessageDecodeError`. For tests (the contract suite's undecodable-message case).
   */
  sendRaw(channel: string, raw: string): void {
    checkChannelName(ADAPTER, 'channel', channel);
    if (typeof raw !== 'string') throw new InvalidArgumentError(ADAPTER, 'raw', 'must be a string');
    stateOf(this).publish(channel, raw, {});
  }

  /** Cancels pending timers and drops every message. Close the transports using the broker first. */
  close(): void {
    stateOf(this).close();
  }
}

/**
 * The in-process transport: the reference implementation of the Transport port, for tests and for
 * running everything in one process. Messages live in memory and are lost when the process ends
 * (`features.persistent` is false).
 *
 * A group receives every message sent after its first consumer subscribed, also while it has no
 * consumer. Messages sent to a channel that has no group yet are kept and go to the first group
 * that consumes it; a group created later starts with the messages sent after its creation.
 */
export class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly features: TransportFeatures = FEATURES;
  /** The broker this transport uses (its own unless one was passed in). */
  readonly broker: MemoryBroker;
  private readonly state: BrokerState;
  private readonly ownsBroker: boolean;
  private readonly consumers = new Set<Consumer>();
  private closing: Promise<void> | undefined;

  constructor(options: MemoryTransportOptions = {}) {
    this.ownsBroker = options.broker === undefined;
    this.broker = options.broker ?? new MemoryBroker(options);
    this.state = stateOf(this.broker);
  }

  async send(channel: string, message: TransportMessage, options: SendOptions = {}): Promise<void> {
    this.assertOpen();
    checkChannelName(ADAPTER, 'channel', channel);
    checkSendOptions(ADAPTER, options);
    assertSendSupported(this, options);
    const copy = checkTransportMessage(ADAPTER, message);
    this.state.publish(channel, options.key === undefined ? copy : { ...copy, key: options.key }, options);
  }

  async consume(channel: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    checkChannelName(ADAPTER, 'channel', channel);
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(ADAPTER, 'handler', 'must be a function');
    const { group: groupName, concurrency, retry } = resolveConsumeOptions(ADAPTER, options);
    const group = this.state.group(channel, groupName);
    const consumer: Consumer = {
      transport: this,
      group,
      handler,
      concurrency,
      retry,
      inFlight: new Set(),
      idle: undefined,
      closing: undefined,
    };
    this.consumers.add(consumer);
    group.add(consumer);
    return { close: () => this.closeConsumer(consumer) };
  }

  private closeConsumer(consumer: Consumer): Promise<void> {
    consumer.closing ??= (async () => {
      consumer.group.remove(consumer);
      if (consumer.inFlight.size > 0) {
        await new Promise<void>((resolve) => {
          consumer.idle = resolve;
        });
      }
      this.consumers.delete(consumer);
    })();
    return consumer.closing;
  }

  async deadLetters(
    channel: string,
    options: { group?: string; limit?: number } = {},
  ): Promise<DeadLetter[]> {
    checkChannelName(ADAPTER, 'channel', channel);
    const letters = this.state.deadLetters(channel, options.group);
    const limited = options.limit === undefined ? letters : letters.slice(0, Math.max(0, options.limit));
    return limited.map(({ sent: _sent, ...letter }) => letter);
  }

  async redrive(channel: string, options: { group?: string; ids?: readonly string[] } = {}): Promise<number> {
    this.assertOpen();
    checkChannelName(ADAPTER, 'channel', channel);
    return this.state.redrive(channel, options.group, options.ids);
  }

  async depth(channel: string, options: { group?: string } = {}): Promise<number> {
    checkChannelName(ADAPTER, 'channel', channel);
    return this.state.depth(channel, options.group);
  }

  /**
   * Simulates this process dying: its consumers stop at once, and the messages they were handling
   * go back to their groups without an ack, to be delivered again (to another consumer if one is
   * subscribed). Results of the abandoned handlers are ignored. The transport is closed afterwards.
   * For tests (the contract suite's crash case).
   */
  async crash(): Promise<void> {
    this.closing ??= Promise.resolve();
    for (const consumer of this.consumers) {
      consumer.closing ??= Promise.resolve();
      consumer.group.abandon(consumer);
    }
    this.consumers.clear();
    if (this.ownsBroker) this.broker.close();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers].map((consumer) => this.closeConsumer(consumer)));
      if (this.ownsBroker) this.broker.close();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new TransportClosedError(ADAPTER, 'send or consume');
  }
}

/** Creates an in-memory transport (see {@link MemoryTransport}). */
export function createMemoryTransport(options: MemoryTransportOptions = {}): MemoryTransport {
  return new MemoryTransport(options);
}

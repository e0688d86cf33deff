import {
  ConfigError,
  InvalidArgumentError,
  newId,
  type SendOptions,
  type TransportMessage,
} from '@finaegis/core';
import { checkChannelName, describeError } from '@finaegis/core/adapter';
import type { MemoryBrokerActivity } from './activity';
import { clockOption, type MemoryClock, type MemoryTimer } from './clock';
import { type Entry, Group, type GroupBroker, type Sent, type StoredDeadLetter } from './consumer-group';

const ADAPTER = '@finaegis/memory';

/** Options of {@link createMemoryBroker}. */
export interface MemoryBrokerOptions {
  /** How long a `dedupeId` is remembered per channel, in milliseconds. Default 3,600,000 (one hour). */
  readonly dedupeWindowMs?: number;
  /**
   * Where delays, retry backoff and the dedupe window are measured. Default: the real clock. Tests
   * pass one they move by hand (see `createTestClock` in `@finaegis/testing`).
   */
  readonly clock?: MemoryClock;
}

/**
 * The in-process message broker behind memory transports: channels, consumer groups and their
 * queues, dead letters and timers. A transport creates its own unless given one; share one between
 * transports to model several processes on one broker. Raw sends (as a foreign producer would
 * write) are in `@finaegis/memory/testing`.
 */
export interface MemoryBroker {
  /** Cancels pending timers and drops every message. Close the transports using the broker first. */
  close(): void;
}

class Channel {
  readonly groups = new Map<string, Group>();
  /** Messages sent while the channel had no group: the first group to consume takes them. */
  backlog: Sent[] = [];
  /** dedupeId → when it is forgotten. Insertion order is expiry order (one window for all). */
  readonly dedupe = new Map<string, number>();
  readonly deadLetters = new Map<string, StoredDeadLetter>();
}

/** @internal The broker's state and workings, kept out of the public surface of {@link MemoryBroker}. */
export class BrokerState implements GroupBroker {
  private readonly channels = new Map<string, Channel>();
  private readonly timers = new Set<MemoryTimer>();
  private readonly dedupeWindowMs: number;
  private readonly clock: MemoryClock;
  private seq = 0;
  private token = 0;

  constructor(options: MemoryBrokerOptions = {}) {
    const window = options.dedupeWindowMs ?? 3_600_000;
    if (typeof window !== 'number' || !Number.isFinite(window) || window < 0) {
      throw new ConfigError('dedupeWindowMs', window, 'a number of milliseconds >= 0', { adapter: ADAPTER });
    }
    this.dedupeWindowMs = window;
    this.clock = clockOption(options.clock, ADAPTER);
  }

  now(): number {
    return this.clock.now();
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
    const now = this.clock.now();
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
    const wait = dueAt - this.clock.now();
    if (wait <= 0) {
      queueMicrotask(fn);
      return;
    }
    const timer = this.clock.setTimer(() => {
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
      failedAt: this.clock.now(),
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

  /** What is waiting, due and in flight, per group (see `memoryBrokerActivity`). */
  activity(): MemoryBrokerActivity {
    const now = this.clock.now();
    const groups: MemoryBrokerActivity['groups'][number][] = [];
    let unrouted = 0;
    for (const [channelName, channel] of this.channels) {
      unrouted += channel.backlog.length;
      for (const group of channel.groups.values()) groups.push(group.activity(channelName, now));
    }
    return { groups, unrouted };
  }

  close(): void {
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
    this.channels.clear();
  }
}

/**
 * Where a broker keeps its state. A registered symbol rather than a module-level map: the CommonJS
 * build gives `@finaegis/memory` and `@finaegis/memory/testing` each a copy of this module, and a
 * broker made through one must still be found through the other.
 */
const STATE = Symbol.for('@finaegis/memory: broker state');

/** @internal The workings of a broker made by {@link createMemoryBroker}. */
export function stateOf(broker: MemoryBroker): BrokerState {
  const state = (broker as { [STATE]?: BrokerState })[STATE];
  if (state === undefined)
    throw new InvalidArgumentError(ADAPTER, 'broker', 'must be made by createMemoryBroker');
  return state;
}

/** Creates an in-process message broker (see {@link MemoryBroker}). */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  const state = new BrokerState(options);
  const broker: MemoryBroker = { close: () => state.close() };
  Object.defineProperty(broker, STATE, { value: state });
  return broker;
}

/**
 * @internal Sends raw text to a channel as if a foreign producer had written it to the broker
 * (`@finaegis/memory/testing` exports it).
 */
export function sendRawToBroker(broker: MemoryBroker, channel: string, raw: string): void {
  checkChannelName(ADAPTER, 'channel', channel);
  if (typeof raw !== 'string') throw new InvalidArgumentError(ADAPTER, 'raw', 'must be a string');
  stateOf(broker).publish(channel, raw, {});
}

import type {
  DeadLetter,
  MessageHandler,
  ReceivedMessage,
  RetryPolicy,
  TransportMessage,
} from '@finaegis/core';
import { decodeTransportMessage, failureDecision, toReceivedMessage } from '@finaegis/core/adapter';
import type { MemoryGroupActivity } from './activity';
import { Heap } from './heap';

/*
 * One consumer group of one channel of the memory broker: its queues (ready by priority, delayed,
 * in flight, waiting behind a key), the round robin over its consumers, and what happens to a
 * message once its handler settles (ack, retry, dead letter).
 */

/** @internal What a send leaves in a channel before it is copied to each group. */
export interface Sent {
  readonly seq: number;
  /** A copy of the message, or raw text that is decoded at delivery (as a broker would). */
  readonly payload: TransportMessage | string;
  /** Id used for dead letters of undecodable raw text. */
  readonly rawId: string;
  readonly priority: number;
  readonly key: string | undefined;
  readonly dueAt: number;
}

/** @internal One message in one group. */
export interface Entry extends Sent {
  /** Deliveries made so far. */
  attempt: number;
  /** Changes on every delivery, so that a handler abandoned by a crash cannot ack the redelivery. */
  token: number;
  /** While delayed: when it becomes due (its send delay, or its retry's backoff). */
  waitUntil: number;
  consumer: Consumer | undefined;
}

/** @internal */
export interface StoredDeadLetter extends DeadLetter {
  readonly sent: Sent;
}

/** @internal */
export interface Consumer {
  readonly group: Group;
  readonly handler: MessageHandler;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly inFlight: Set<Entry>;
  idle: (() => void) | undefined;
  closing: Promise<void> | undefined;
}

/** @internal What a group needs from its broker (the broker's timers, tokens and dead-letter place). */
export interface GroupBroker {
  /** The broker's clock, in ms since the epoch. */
  now(): number;
  nextToken(): number;
  at(dueAt: number, fn: () => void): void;
  deadLetter(group: Group, entry: Entry, error: unknown): void;
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

/** @internal */
export class Group {
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
    readonly broker: GroupBroker,
    readonly channel: string,
    readonly name: string,
  ) {}

  get depth(): number {
    return this.ready.size + this.delayed.size + this.inFlight.size + this.waitingBehindKeys;
  }

  accept(sent: Sent): void {
    const entry: Entry = { ...sent, attempt: 0, token: 0, consumer: undefined, waitUntil: sent.dueAt };
    if (entry.dueAt > this.broker.now()) {
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
    // Headers are copied: every group delivers the same stored message, and a handler may change them.
    return toReceivedMessage(
      { ...message, headers: { ...message.headers } },
      { channel: this.channel, group: this.name, attempt },
    );
  }

  private settle(consumer: Consumer, entry: Entry, token: number, error: unknown, ok: boolean): void {
    // A crashed consumer's late result is ignored: its messages were already handed to others.
    if (entry.token !== token) return;
    entry.consumer = undefined;
    this.inFlight.delete(entry);
    consumer.inFlight.delete(entry);
    const decision = ok ? undefined : failureDecision(error, entry.attempt, consumer.retry);
    if (decision === undefined) {
      this.release(entry);
    } else if (decision.action === 'dead-letter') {
      this.broker.deadLetter(this, entry, error);
      this.release(entry);
    } else {
      // The entry keeps its key, so later messages of the key wait for the retry (order by key).
      const dueAt = this.broker.now() + decision.delayMs;
      entry.waitUntil = dueAt;
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

  activity(channel: string, now: number): MemoryGroupActivity {
    let dueLater = 0;
    let nextDueAt: number | undefined;
    for (const entry of this.delayed) {
      if (entry.waitUntil <= now) continue;
      dueLater++;
      if (nextDueAt === undefined || entry.waitUntil < nextDueAt) nextDueAt = entry.waitUntil;
    }
    return {
      channel,
      group: this.name,
      consumers: this.consumers.length,
      due: this.ready.size + this.delayed.size - dueLater,
      inFlight: this.inFlight.size,
      waitingBehindKey: this.waitingBehindKeys,
      scheduled: dueLater,
      nextDueAt,
    };
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

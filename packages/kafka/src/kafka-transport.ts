import {
  assertSendSupported,
  backoffDelay,
  type ConsumeOptions,
  checkChannelName,
  checkSendOptions,
  checkTransportMessage,
  type DeadLetter,
  decodeTransportMessage,
  describeError,
  encodeTransportMessage,
  InvalidArgumentError,
  isRetryable,
  type Logger,
  type MessageHandler,
  newId,
  type ReceivedMessage,
  type RetryPolicy,
  resolveConsumeOptions,
  type SendOptions,
  type Subscription,
  silentLogger,
  type Transport,
  TransportClosedError,
  type TransportFeatures,
  type TransportMessage,
} from '@finaegis/core';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  type KafkaMessage,
  logLevel,
  type Message,
  type Producer,
} from 'kafkajs';
import { BrokerUnavailableError } from './broker-unavailable-error';
import { isBrokerUnreachable, outageBackoff, whileTopicUnknown } from './outage';
import { SendBatcher } from './send-batcher';

const ADAPTER = '@finaegis/kafka';
const PREFIX = `[${ADAPTER}]`;

/** While a batch is being handled, its finished prefix is committed at least this often. */
const COMMIT_EVERY_MS = 250;

/**
 * A batch kept inside kafkajs' fetch loop (see `keep`) is let go once it finished no record for
 * this long while another partition could be fetched.
 */
const STALL_MS = 10;

/** Record header naming the only group that should handle a re-driven record. */
const TARGET_GROUP_HEADER = 'finaegis-redrive-group';

const FEATURES: TransportFeatures = Object.freeze({
  // Kafka has no per-record delay or priority; refused rather than faked.
  delay: false,
  priority: false,
  orderingByKey: true,
  consumerGroups: true,
  deadLetter: true,
  dedupe: false,
  persistent: true,
  depth: true,
});

/** Options of {@link createKafkaTransport}. Give either `kafka` or `brokers`. */
export interface KafkaTransportOptions {
  /** An existing kafkajs client. The transport creates its producer, consumers and admin from it. */
  readonly kafka?: Kafka;
  /** Broker addresses (`host:port`, or one comma-separated string) when no `kafka` is given. */
  readonly brokers?: readonly string[] | string;
  /** Client id when the transport creates the kafkajs client. Default `finaegis`. */
  readonly clientId?: string;
  /** Prepended to a channel name to make its topic. Default `''`. */
  readonly topicPrefix?: string;
  /** Prepended to `<channel>.<group>` to make a consumer group id. Default: `topicPrefix`. */
  readonly groupIdPrefix?: string;
  /** Create missing topics (channel and dead-letter topics) through the admin. Default true. */
  readonly createTopics?: boolean;
  /** Partitions of a channel topic the transport creates. Default 6. */
  readonly partitions?: number;
  /** Replication factor of topics the transport creates. Default -1 (the broker's default). */
  readonly replicationFactor?: number;
  /** Where a consumer group without committed offsets starts: `earliest` (default) or `latest`. */
  readonly startFrom?: 'earliest' | 'latest';
  /** Consumer session timeout in ms (how soon a dead consumer's partitions move). Default 30,000. */
  readonly sessionTimeoutMs?: number;
  /** Consumer heartbeat interval in ms. Default 3,000. */
  readonly heartbeatIntervalMs?: number;
  /**
   * How long a rebalance waits for the group's members to rejoin, in ms (kafkajs
   * `rebalanceTimeout`). Default 60,000. A rebalance does not wait for handlers in flight: a record
   * still being handled on a partition that moves is handled again by its next owner
   * (at-least-once), and its offset is not committed by the old one.
   */
  readonly rebalanceTimeoutMs?: number;
  /** How long `consume` waits for the consumer to join its group. Default 60,000. */
  readonly joinTimeoutMs?: number;
  /** Most records in one produce request. Sends made together are batched. Default 500. */
  readonly maxSendBatch?: number;
  /** Where the transport reports what it cannot throw (a dead-letter write that failed). */
  readonly logger?: Logger;
  /**
   * How long, in ms, the transport waits out brokers it cannot reach before giving up with
   * `BrokerUnavailableError`: a send (and the topic creation before it) keeps trying for this long,
   * and a consumer whose broker went away keeps restarting for this long. Default 60,000.
   */
  readonly outageTimeoutMs?: number;
  /**
   * Called when a consumer stopped for good: after `outageTimeoutMs` without a broker (with a
   * `BrokerUnavailableError`), or on an error kafkajs does not restart consumers after. The
   * failure is also logged. Its subscription's `close()` still resolves.
   */
  readonly onConsumerFailure?: (error: Error, consumer: { channel: string; group: string }) => void;
}

interface DeadLetterRecord {
  readonly kind: 'dead-letter';
  readonly entry: DeadLetter;
}
interface RedrivenRecord {
  readonly kind: 'redriven';
  readonly ids: readonly string[];
}

/** FNV-1a over the bytes, as a non-negative 32-bit integer. */
function hashBytes(bytes: Buffer): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** The records of one key in one batch, handled one at a time, in offset order. */
interface Lane {
  readonly run: BatchRun;
  readonly indices: readonly number[];
  /** Position in `indices` of the record being handled. */
  at: number;
  /** Attempts made at that record so far. */
  attempt: number;
  /** That record's value as text, once its first attempt started. */
  text: string | undefined;
}

/** A batch whose records are being handled. */
interface BatchRun {
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
  readonly hold: Hold;
  /** False once no record of the batch may start any more (see `handleBatch`). */
  readonly active: () => boolean;
  /** Marks a record finished: handled, skipped or dead-lettered. */
  readonly finish: (index: number) => void;
  /** Lanes not ended yet. */
  lanes: number;
  /** Why a lane ended early (a dead letter that could not be written), the first time it happened. */
  error: { readonly reason: unknown } | undefined;
  /** Called once every lane ended. */
  readonly ended: () => void;
}

/** Offsets waiting for a consumer's next commit request, and what that request's outcome is. */
interface CommitRound {
  readonly offsets: Map<number, { readonly offset: string; readonly current: () => boolean }>;
  /** Resolves true once committed, false when the request failed (the failure is logged). */
  readonly done: Promise<boolean>;
  readonly settle: (committed: boolean) => void;
}

/** A batch kept inside kafkajs' `eachBatch` call. */
interface Hold {
  /** Records of the batch finished so far. */
  progress: number;
  /** `progress` when the stall timer was last armed (-1 before it first saw this batch). */
  seen: number;
  /** Lanes of the batch waiting for a worker. */
  queued: number;
  /** Set once every record is handled: what is left is committing their offsets. */
  committing: boolean;
  /** Lets the batch go on in the background (set while it is kept). */
  release: () => void;
}

interface ConsumerState {
  readonly channel: string;
  readonly group: string;
  readonly topic: string;
  /** The kafkajs consumer; replaced when kafkajs gave up on it during an outage. */
  consumer: Consumer;
  /** Called on each group join (the first one resolves `consume`). */
  onJoin: () => void;
  readonly handler: MessageHandler;
  readonly retry: RetryPolicy;
  /** Handlers running at once at most, across the partitions of this consumer. */
  readonly concurrency: number;
  /** Lanes waiting for a worker, oldest first. */
  readonly ready: Lane[];
  /** Worker loops running (at most `concurrency`); each runs one handler at a time. */
  workers: number;
  /** Set by close: no new handler starts, backoff waits end at once. */
  stopping: boolean;
  /** Set by crash: results of the handlers in flight are ignored; nothing more is committed. */
  crashed: boolean;
  /** Between kafkajs noticing a rebalance and the next join: no new record starts meanwhile. */
  rebalancing: boolean;
  /** Partitions of the topic this consumer owns (its assignment at the last group join). */
  assigned: ReadonlySet<number>;
  /**
   * Bumped for a partition each time a rebalance takes it away: work fetched before then no
   * longer resolves or commits offsets, even if the partition comes back later.
   */
  readonly epochs: Map<number, number>;
  /** Batches whose records are still being handled. */
  readonly inFlight: Set<Promise<void>>;
  /** Partitions whose batch is being handled inside kafkajs' `eachBatch` call. */
  readonly inside: Set<number>;
  /** Partitions paused while their batch is handled after `eachBatch` returned. */
  readonly background: Set<number>;
  /** Batches kept inside `eachBatch` (see `keep`). */
  readonly holds: Set<Hold>;
  /** Lets go of kept batches that stalled while another partition waits for a fetch. */
  stallTimer: NodeJS.Timeout | undefined;
  /** Records this consumer finished, and that count when the stall timer was last armed. */
  progress: number;
  progressSeen: number;
  /** Offsets to commit once the request in flight returns; one request at a time per consumer. */
  nextCommit: CommitRound | undefined;
  committing: Promise<void> | undefined;
  /** Resolves pending backoff waits when the consumer stops. */
  readonly wakeUps: Set<() => void>;
  closing: Promise<void> | undefined;
  /** When kafkajs first crashed this consumer for want of a broker, since it last joined its group. */
  downSince: number | undefined;
}

/**
 * The Transport port on Apache Kafka through kafkajs.
 *
 * - A channel is a topic (`topicPrefix + channel`), created with `partitions` partitions unless it
 *   exists. Its dead letters go to `<topic>.dlq` (one partition, so they list oldest first).
 * - A consumer group of a channel is the Kafka consumer group `groupIdPrefix + channel + '.' + group`.
 * - The partition key is `SendOptions.key ?? message.key`; records of one key are handled one at a
 *   time, in order, by one consumer of a group.
 * - An offset is committed only once its record's handler succeeded or the record was dead-lettered
 *   (at-least-once). Retries wait their backoff in the consumer, holding up only the record's key
 *   (and the partition's next fetch), never other partitions.
 */
export class KafkaTransport implements Transport {
  readonly name = 'kafka';
  readonly features: TransportFeatures = FEATURES;

  private readonly kafka: Kafka;
  private readonly topicPrefix: string;
  private readonly groupIdPrefix: string;
  private readonly createTopics: boolean;
  private readonly partitions: number;
  private readonly replicationFactor: number;
  private readonly fromBeginning: boolean;
  private readonly sessionTimeout: number;
  private readonly heartbeatInterval: number;
  private readonly rebalanceTimeout: number;
  private readonly joinTimeoutMs: number;
  private readonly outageTimeoutMs: number;
  private readonly onConsumerFailure: KafkaTransportOptions['onConsumerFailure'];
  /** Waits between attempts during an outage; close ends them at once. */
  private readonly outageWaits = new Set<() => void>();
  private readonly logger: Logger;
  private readonly producer: Producer;
  private readonly batcher: SendBatcher;
  private producerConnected: Promise<void> | undefined;
  private adminClient: Promise<Admin> | undefined;
  private readonly knownTopics = new Map<string, Promise<void>>();
  /** Topics whose creation finished: sends to them skip the wait. */
  private readonly readyTopics = new Set<string>();
  private readonly sendTopics = new Map<string, string>();
  private readonly consumers = new Set<ConsumerState>();
  private closing: Promise<void> | undefined;

  constructor(options: KafkaTransportOptions) {
    if (options.kafka) {
      this.kafka = options.kafka;
    } else {
      const brokers =
        typeof options.brokers === 'string'
          ? options.brokers.split(',').map((b) => b.trim())
          : [...(options.brokers ?? [])];
      if (brokers.length === 0 || brokers.some((b) => b.length === 0)) {
        throw new TypeError(`${PREFIX} give either \`kafka\` (a kafkajs client) or \`brokers\``);
      }
      this.kafka = new Kafka({
        clientId: options.clientId ?? 'finaegis',
        brokers,
        logLevel: logLevel.NOTHING,
        // Stated rather than left to kafkajs, whose defaults change with NODE_ENV (`test` has its
        // own). As patient as either (each call keeps trying for about 9.5 s), with waits of at
        // most a second, so a broker that is back is seen soon; `rideOut` decides whether to call
        // again, so that giving up follows `outageTimeoutMs`, not a count of attempts.
        retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 12 },
      });
    }
    this.topicPrefix = options.topicPrefix ?? '';
    this.groupIdPrefix = options.groupIdPrefix ?? this.topicPrefix;
    this.createTopics = options.createTopics ?? true;
    this.partitions = options.partitions ?? 6;
    this.replicationFactor = options.replicationFactor ?? -1;
    this.fromBeginning = (options.startFrom ?? 'earliest') === 'earliest';
    this.sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    this.heartbeatInterval = options.heartbeatIntervalMs ?? 3_000;
    this.rebalanceTimeout = options.rebalanceTimeoutMs ?? 60_000;
    this.joinTimeoutMs = options.joinTimeoutMs ?? 60_000;
    this.outageTimeoutMs = options.outageTimeoutMs ?? 60_000;
    this.onConsumerFailure = options.onConsumerFailure;
    this.logger = options.logger ?? silentLogger;
    if (!Number.isInteger(this.partitions) || this.partitions < 1) {
      throw new RangeError(`${PREFIX} partitions must be an integer >= 1, got ${String(this.partitions)}`);
    }
    if (!Number.isFinite(this.outageTimeoutMs) || this.outageTimeoutMs < 0) {
      throw new RangeError(
        `${PREFIX} outageTimeoutMs must be a number of ms >= 0, got ${String(this.outageTimeoutMs)}`,
      );
    }
    // Idempotent: a produce retried after a lost acknowledgement is not written twice.
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
    });
    this.batcher = new SendBatcher(
      (topicMessages) =>
        this.rideOut('send', async () => {
          await this.connectProducer();
          // The same records again after a failed attempt: kafkajs moves the idempotent
          // producer's sequence numbers on only once a request succeeded, so the broker drops a
          // copy whose first attempt was written after all.
          await this.producer.sendBatch({ topicMessages, acks: -1 });
        }),
      options.maxSendBatch ?? 500,
    );
  }

  /** The topic that carries a channel. */
  topicName(channel: string): string {
    return `${this.topicPrefix}${channel}`;
  }

  /** `topicName`, remembered per channel: sends skip building and hashing a new string each time. */
  private sendTopic(channel: string): string {
    let topic = this.sendTopics.get(channel);
    if (topic === undefined) {
      topic = this.topicName(channel);
      this.sendTopics.set(channel, topic);
    }
    return topic;
  }

  /** The Kafka consumer group id of a channel's group. */
  groupId(channel: string, group: string): string {
    return `${this.groupIdPrefix}${channel}.${group}`;
  }

  send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void> {
    // Not `async`: a send is one shared promise of its produce request (see SendBatcher), and an
    // async wrapper would add two more per send. Bad input still rejects rather than throws.
    try {
      this.assertOpen();
      checkChannelName(ADAPTER, 'channel', channel);
      checkSendOptions(ADAPTER, options);
      assertSendSupported(this, options);
      const checked = checkTransportMessage(ADAPTER, message);
      // Encoded in the same synchronous step as the check, so that what was checked is what is
      // sent, and later changes to the caller's object do not leak in; the encoder takes only the
      // five fields. The caller's object rather than the checked copy unless headers are missing:
      // the copy of a keyed message is an object V8 reads slowly (a third more per send).
      const source = message.headers === undefined ? checked : message;
      const topic = this.sendTopic(channel);
      const record: Message = {
        key: options?.key ?? source.key ?? null,
        value: encodeTransportMessage(source),
        headers: { 'finaegis-id': source.id, 'finaegis-type': source.type },
      };
      if (!this.createTopics || this.readyTopics.has(topic)) return this.batcher.add(topic, record);
      return this.ensureChannelTopics(topic).then(() => this.batcher.add(topic, record));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async consume(channel: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    checkChannelName(ADAPTER, 'channel', channel);
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(ADAPTER, 'handler', 'must be a function');
    const { group, concurrency, retry } = resolveConsumeOptions(ADAPTER, options);
    const topic = this.topicName(channel);
    await this.ensureChannelTopics(topic);

    let joinedNow!: () => void;
    let timer: NodeJS.Timeout | undefined;
    const joined = new Promise<void>((resolve, reject) => {
      joinedNow = resolve;
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${PREFIX} consumer of ${topic} did not join its group within ${this.joinTimeoutMs} ms`,
            ),
          ),
        this.joinTimeoutMs,
      );
    });
    // Awaited below; this only keeps a late timeout after a failed connect from going unhandled.
    joined.catch(() => {});
    const state: ConsumerState = {
      downSince: undefined,
      crashed: false,
      rebalancing: false,
      assigned: new Set(),
      epochs: new Map(),
      inFlight: new Set(),
      inside: new Set(),
      background: new Set(),
      holds: new Set(),
      stallTimer: undefined,
      progress: 0,
      progressSeen: 0,
      nextCommit: undefined,
      committing: undefined,
      channel,
      group,
      topic,
      // Set right below: its event listeners need this state.
      consumer: undefined as unknown as Consumer,
      handler,
      retry,
      concurrency,
      ready: [],
      workers: 0,
      stopping: false,
      wakeUps: new Set(),
      closing: undefined,
      onJoin: () => {
        clearTimeout(timer);
        joinedNow();
      },
    };
    state.consumer = this.newConsumer(state);
    try {
      await this.startConsumer(state);
      // Resolving only once the group has assigned partitions: a send made right after `consume`
      // returns is then seen by this group even with `startFrom: 'latest'`.
      await joined;
    } catch (error) {
      clearTimeout(timer);
      state.stopping = true;
      await state.consumer.disconnect().catch(() => {});
      throw error;
    }
    state.onJoin = () => {};
    this.consumers.add(state);
    return { close: () => this.closeConsumer(state) };
  }

  /** A kafkajs consumer for the state's group, its events wired to the state. */
  private newConsumer(state: ConsumerState): Consumer {
    const { topic, group, channel } = state;
    const consumer = this.kafka.consumer({
      groupId: this.groupId(channel, group),
      sessionTimeout: this.sessionTimeout,
      heartbeatInterval: this.heartbeatInterval,
      rebalanceTimeout: this.rebalanceTimeout,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      // kafkajs restarts a consumer that crashed on a retriable error (no broker) again and
      // again; it stops once this says no, and the CRASH listener below takes over.
      retry: {
        restartOnFailure: async (error: Error) => {
          if (state.stopping) return false;
          if (!isBrokerUnreachable(error)) return true;
          state.downSince ??= Date.now();
          return Date.now() - state.downSince < this.outageTimeoutMs;
        },
      },
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (state.consumer !== consumer) return;
      const now = new Set(payload.memberAssignment[topic] ?? []);
      for (const partition of state.assigned) {
        if (!now.has(partition)) state.epochs.set(partition, (state.epochs.get(partition) ?? 0) + 1);
      }
      state.assigned = now;
      state.rebalancing = false;
      state.downSince = undefined;
      this.releaseHolds(state);
      state.onJoin();
    });
    // Records already started finish (and commit, which a rebalancing group still accepts); the
    // rest wait for whoever owns their partition after the rebalance, instead of being handled
    // here and then again there.
    consumer.on(consumer.events.REBALANCING, () => {
      if (state.consumer !== consumer) return;
      state.rebalancing = true;
      this.releaseHolds(state);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (state.consumer !== consumer) return;
      this.logger.error(`${PREFIX} the consumer of ${topic} crashed`, {
        group,
        error: describeError(payload.error).message,
        restart: payload.restart,
      });
      if (!payload.restart && !state.stopping) this.afterFinalCrash(state, payload.error);
    });
    return consumer;
  }

  /** Connects the state's consumer, subscribes it to the channel's topic and starts it. */
  private async startConsumer(state: ConsumerState): Promise<void> {
    const { consumer, topic, concurrency } = state;
    await consumer.connect();
    // The topic exists (ensureChannelTopics), but a busy broker may not list it yet.
    await whileTopicUnknown(3, () =>
      consumer.subscribe({ topics: [topic], fromBeginning: this.fromBeginning }),
    );
    await consumer.run({
      // Offsets are committed by handleBatch, once the records before them are handled.
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Enough kafkajs workers for every partition's batch of a fetch to start at once;
      // `concurrency` itself is enforced by the workers, across partitions.
      partitionsConsumedConcurrently: Math.max(concurrency, this.partitions),
      eachBatch: (payload) => this.handleBatch(state, payload),
    });
  }

  /**
   * kafkajs stopped a consumer for good. Some of its errors for a missing broker are final to
   * kafkajs although a broker may be back a moment later (`KafkaJSGroupCoordinatorNotFound`, thrown
   * when no broker answered where the group's coordinator is, e.g. right after a restart): within
   * `outageTimeoutMs` the transport then starts a new kafkajs consumer for the same group itself.
   * Otherwise the consumer is over, reported once, with a typed error when the brokers stayed away.
   */
  private afterFinalCrash(state: ConsumerState, error: Error): void {
    if (isBrokerUnreachable(error)) {
      state.downSince ??= Date.now();
      if (Date.now() - state.downSince < this.outageTimeoutMs) {
        void this.replaceConsumer(state);
        return;
      }
    }
    state.stopping = true;
    this.consumers.delete(state);
    const failure =
      state.downSince !== undefined && isBrokerUnreachable(error)
        ? new BrokerUnavailableError(
            `consume ${state.topic} as group ${state.group}`,
            Date.now() - state.downSince,
            { cause: error },
          )
        : error;
    this.logger.error(`${PREFIX} the consumer of ${state.topic} stopped for good`, {
      group: state.group,
      error: describeError(failure).message,
    });
    this.onConsumerFailure?.(failure, { channel: state.channel, group: state.group });
  }

  /** Starts a new kafkajs consumer in place of one kafkajs gave up on (see `afterFinalCrash`). */
  private async replaceConsumer(state: ConsumerState): Promise<void> {
    const old = state.consumer;
    await old.disconnect().catch(() => {});
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        state.wakeUps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, 1_000);
      state.wakeUps.add(wake);
    });
    if (state.stopping || state.consumer !== old) return;
    state.rebalancing = true;
    state.consumer = this.newConsumer(state);
    this.logger.warn(`${PREFIX} starting a new consumer of ${state.topic} after kafkajs gave up`, {
      group: state.group,
    });
    try {
      await this.startConsumer(state);
    } catch (error) {
      // Failures after start-up come as CRASH events; this is connect or subscribe failing.
      if (!state.stopping) this.afterFinalCrash(state, error as Error);
    }
  }

  /**
   * kafkajs fetches from a broker again only once every batch of the previous fetch returned, so a
   * batch that waited for its handlers would hold up every partition. A batch is therefore kept
   * inside kafkajs' call only while no other partition could be fetched (see `keep`); otherwise its
   * partition is paused, its records go on in the background, and the partition resumes once they
   * finished. Either way its records run one key at a time, in order, the offsets of the finished
   * prefix are resolved and committed, and the partition is not fetched again before they are.
   */
  private async handleBatch(state: ConsumerState, payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, pause, heartbeat } = payload;
    const messages = batch.messages;
    const count = messages.length;
    if (count === 0 || state.stopping) return;
    const { partition } = batch;
    const epoch = state.epochs.get(partition) ?? 0;
    // A rebalance that leaves the partition here does not stop its work: kafkajs keeps it paused,
    // and the offsets resolved later go to the new generation's commit.
    const current = () =>
      !state.crashed && state.assigned.has(partition) && (state.epochs.get(partition) ?? 0) === epoch;
    const active = () => current() && !state.stopping && !state.rebalancing;
    const done = new Uint8Array(count);
    const hold: Hold = { progress: 0, seen: -1, queued: 0, committing: false, release: () => {} };
    let resolvedUpTo = 0;
    let committedUpTo = 0;
    let lastCommit = Date.now();
    const commit = async () => {
      if (resolvedUpTo <= committedUpTo || !current()) return;
      const upTo = resolvedUpTo;
      lastCommit = Date.now();
      // kafkajs fetches the partition again from its resolved offset. Resolving here, not per
      // record: every commit (and the last one of the batch) comes through, and kafkajs parses
      // offsets as 64-bit numbers on each resolve.
      resolveOffset(messages[upTo - 1]!.offset);
      const offset = String(Number(messages[upTo - 1]!.offset) + 1);
      if (await this.commitOffset(state, partition, offset, current)) {
        committedUpTo = Math.max(committedUpTo, upTo);
      }
    };
    // Only a contiguous prefix of finished records may be resolved and committed, and only while
    // this consumer still owns the partition.
    const settle = (index: number) => {
      done[index] = 1;
      hold.progress++;
      state.progress++;
      if (index !== resolvedUpTo || !current()) return;
      while (resolvedUpTo < count && done[resolvedUpTo] === 1) resolvedUpTo++;
    };
    // One lane per key, its records in offset order; a record without a key is a lane of its own.
    // Lanes are found by a hash of the key's bytes, not by the key as a string (an allocation
    // per record). Two keys with the same hash share a lane: their records then run one at a time
    // too, which costs concurrency, never order. A record without a key gets a lane of its own.
    const lanes = new Map<number, number[]>();
    let unkeyed = -1;
    for (let index = 0; index < count; index++) {
      const key = messages[index]!.key;
      const name = key === null ? unkeyed-- : hashBytes(key);
      const lane = lanes.get(name);
      if (lane) lane.push(index);
      else lanes.set(name, [index]);
    }
    let ended!: () => void;
    const handled = new Promise<void>((resolve) => {
      ended = resolve;
    });
    const run: BatchRun = {
      partition,
      messages,
      hold,
      active,
      finish: (index) => {
        settle(index);
        // A long batch commits as it goes, so that a crash repeats little work. Not awaited: the
        // batch's last commit (which close waits for) goes after this one.
        if (Date.now() - lastCommit >= COMMIT_EVERY_MS) void commit();
      },
      lanes: lanes.size,
      error: undefined,
      ended,
    };
    for (const indices of lanes.values()) {
      this.schedule(state, { run, indices, at: 0, attempt: 0, text: undefined });
    }
    const finished = (async () => {
      await handled;
      hold.committing = true;
      await commit();
      if (run.error) {
        this.logger.error(
          `${PREFIX} a record could not be handled nor dead-lettered; it will be delivered again`,
          {
            topic: batch.topic,
            partition,
            error: describeError(run.error.reason).message,
          },
        );
        // Fetch again from the last commit, so the unfinished records come back.
        if (current() && !state.stopping) {
          const from = messages[resolvedUpTo]!.offset;
          state.consumer.seek({ topic: batch.topic, partition, offset: from });
        }
      }
    })()
      .catch((error: unknown) => {
        this.logger.error(`${PREFIX} a batch ended with an error; its records may be delivered again`, {
          topic: batch.topic,
          partition,
          error: describeError(error).message,
        });
      })
      .finally(() => state.inFlight.delete(finished));
    state.inFlight.add(finished);
    if (await this.keep(state, partition, hold, finished, heartbeat)) {
      // Returning lets kafkajs fetch this partition again: batches kept elsewhere must not make
      // it wait for long.
      this.watchStalls(state);
      return;
    }
    const resume = pause();
    state.background.add(partition);
    void finished.finally(() => {
      state.background.delete(partition);
      // After a rebalance or a crash the partition may belong to another consumer: resuming it
      // here only matters if it is still ours, and then its unfinished records are fetched again.
      if (!state.crashed) resume();
      this.watchStalls(state);
    });
  }

  /**
   * Keeps a batch inside kafkajs' `eachBatch` call until its records finished (true), or until it
   * is let go (false): at once when the group rebalances, the consumer stops or a heartbeat fails;
   * and when another partition of this consumer could be fetched (its batch returned, it resumed,
   * or it had nothing in the last fetch) while this batch finished no record for `STALL_MS`. A
   * batch let go goes on in the background with its partition paused. Kept batches send the
   * heartbeats kafkajs would send between fetches.
   *
   * Pausing every batch instead would cost more than the pause: kafkajs, finding every partition
   * of a fetch paused, sleeps `maxWaitTimeInMs` before it looks again, even if they all resumed
   * a millisecond later; and batches let go as soon as another finished would split each fetch
   * into many small ones.
   */
  private keep(
    state: ConsumerState,
    partition: number,
    hold: Hold,
    finished: Promise<void>,
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let over = false;
      const end = (handled: boolean) => {
        if (over) return;
        over = true;
        state.holds.delete(kept);
        state.inside.delete(partition);
        clearImmediate(check);
        clearInterval(beat);
        resolve(handled);
      };
      const kept = hold;
      kept.release = () => end(false);
      state.holds.add(kept);
      state.inside.add(partition);
      void finished.then(() => end(true));
      // kafkajs starts the batches of one fetch in one go; one tick later, a partition that is
      // neither kept nor running in the background is waiting for the next fetch.
      const check = setImmediate(() => {
        if (state.stopping || state.rebalancing) kept.release();
        else this.watchStalls(state);
      });
      const beat = setInterval(() => {
        heartbeat().catch(kept.release);
      }, this.heartbeatInterval);
    });
  }

  /** Whether a partition of this consumer could be fetched now. */
  private someoneWaits(state: ConsumerState): boolean {
    for (const partition of state.assigned) {
      if (!state.inside.has(partition) && !state.background.has(partition)) return true;
    }
    return false;
  }

  /**
   * While a partition waits for a fetch, lets go of kept batches that stalled: that finished no
   * record for `STALL_MS`, other than by waiting for workers that other records kept busy.
   */
  private watchStalls(state: ConsumerState): void {
    if (state.stallTimer !== undefined || state.holds.size === 0 || !this.someoneWaits(state)) return;
    for (const hold of state.holds) hold.seen = hold.progress;
    state.progressSeen = state.progress;
    const armed = performance.now();
    state.stallTimer = setTimeout(() => {
      state.stallTimer = undefined;
      if (!this.someoneWaits(state)) return;
      // A timer that fired late means this process was busy: that window says nothing of stalls.
      if (performance.now() - armed > 2 * STALL_MS) {
        this.watchStalls(state);
        return;
      }
      const busy = state.progress !== state.progressSeen;
      for (const hold of [...state.holds]) {
        if (hold.progress === hold.seen && !hold.committing && !(busy && hold.queued > 0)) hold.release();
      }
      this.watchStalls(state);
    }, STALL_MS);
  }

  private releaseHolds(state: ConsumerState): void {
    for (const hold of [...state.holds]) hold.release();
  }

  /**
   * Commits a partition's offset with the consumer's next commit request. Requests go one at a
   * time, each with the latest offset of every partition that asked meanwhile: the batches of a
   * fetch that finish together cost the broker one request, not one each.
   */
  private commitOffset(
    state: ConsumerState,
    partition: number,
    offset: string,
    current: () => boolean,
  ): Promise<boolean> {
    let round = state.nextCommit;
    if (round === undefined) {
      let settle!: (committed: boolean) => void;
      const done = new Promise<boolean>((resolve) => {
        settle = resolve;
      });
      round = { offsets: new Map(), done, settle };
      state.nextCommit = round;
    }
    const queued = round.offsets.get(partition);
    if (queued === undefined || Number(queued.offset) < Number(offset)) {
      round.offsets.set(partition, { offset, current });
    }
    state.committing ??= this.commitRounds(state);
    return round.done;
  }

  private async commitRounds(state: ConsumerState): Promise<void> {
    try {
      for (let round = state.nextCommit; round; round = state.nextCommit) {
        state.nextCommit = undefined;
        // Only partitions this consumer still owns, in the generation their records came from.
        const offsets = [...round.offsets]
          .filter(([, queued]) => queued.current())
          .map(([partition, queued]) => ({ topic: state.topic, partition, offset: queued.offset }));
        let committed = true;
        if (offsets.length > 0) {
          try {
            await state.consumer.commitOffsets(offsets);
          } catch (error) {
            committed = false;
            this.logger.warn(`${PREFIX} offset commit failed; those records may be delivered again`, {
              topic: state.topic,
              partitions: offsets.map((o) => o.partition),
              error: describeError(error).message,
            });
          }
        }
        round.settle(committed);
      }
    } finally {
      state.committing = undefined;
    }
  }

  /** Queues a lane for a worker, and starts one if fewer than `concurrency` run. */
  private schedule(state: ConsumerState, lane: Lane): void {
    state.ready.push(lane);
    lane.run.hold.queued++;
    if (state.workers < state.concurrency) void this.work(state);
  }

  /**
   * A worker: takes lanes oldest first and makes one attempt at each one's current record. A lane
   * with more to do goes to the back of the queue, so that batches and keys take turns. Retries
   * wait their backoff and dead letters are written outside the workers, holding up only their
   * lane.
   */
  private async work(state: ConsumerState): Promise<void> {
    state.workers++;
    try {
      for (let lane = state.ready.shift(); lane !== undefined; lane = state.ready.shift()) {
        lane.run.hold.queued--;
        // The handler is awaited here rather than in a helper: one promise less per record.
        const received = this.begin(state, lane);
        if (received === undefined) continue;
        let failure: unknown;
        let failed = false;
        try {
          await state.handler(received);
        } catch (error) {
          failed = true;
          failure = error;
        }
        this.conclude(state, lane, failed, failure);
      }
    } finally {
      state.workers--;
    }
  }

  /**
   * Starts an attempt at a lane's current record: the message to hand to the handler, or
   * undefined when there is nothing to hand over. A lane ends without finishing its record when
   * the consumer stops or lost the partition: the record stays uncommitted and its next owner
   * handles it again.
   */
  private begin(state: ConsumerState, lane: Lane): ReceivedMessage | undefined {
    const { run } = lane;
    if (!run.active()) {
      this.endLane(lane);
      return undefined;
    }
    const index = lane.indices[lane.at]!;
    let message: TransportMessage;
    if (lane.text === undefined) {
      const record = run.messages[index]!;
      if (record.headers?.[TARGET_GROUP_HEADER] !== undefined) {
        const target = headerText(record.headers, TARGET_GROUP_HEADER);
        if (target !== undefined && target !== state.group) {
          this.advance(state, lane, index);
          return undefined;
        }
      }
      const raw = record.value === null ? '' : record.value.toString();
      try {
        message = decodeTransportMessage(raw);
      } catch (error) {
        const id = `${state.topic}-${run.partition}-${record.offset}`;
        this.deadLetterThen(state, lane, index, { id, type: '', body: raw, headers: {} }, error, 1);
        return undefined;
      }
      lane.text = raw;
    } else {
      // A retry gets a message of its own, decoded again, so that what an earlier attempt's
      // handler changed in its message does not carry over. It decoded before, so it decodes now.
      message = decodeTransportMessage(lane.text);
    }
    const attempt = ++lane.attempt;
    // Freshly decoded, so the handler may have it as it is. Two literal shapes rather than a
    // conditional spread, which costs an object per record.
    return message.key === undefined
      ? {
          id: message.id,
          type: message.type,
          body: message.body,
          headers: message.headers,
          channel: state.channel,
          group: state.group,
          attempt,
        }
      : {
          id: message.id,
          type: message.type,
          body: message.body,
          headers: message.headers,
          channel: state.channel,
          group: state.group,
          attempt,
          key: message.key,
        };
  }

  /** After the handler of a lane's current record returned or threw: what comes next. */
  private conclude(state: ConsumerState, lane: Lane, failed: boolean, failure: unknown): void {
    const index = lane.indices[lane.at]!;
    if (state.crashed) this.endLane(lane);
    else if (!failed) this.advance(state, lane, index);
    else if (!isRetryable(failure) || lane.attempt >= state.retry.attempts) {
      // The dead letter keeps the message as it came, not as the last handler left it.
      const message = decodeTransportMessage(lane.text!);
      this.deadLetterThen(state, lane, index, message, failure, lane.attempt);
    } else this.retryLater(state, lane, backoffDelay(state.retry.backoff, lane.attempt));
  }

  /** The lane's record is finished: on to its next record, or the lane ends. */
  private advance(state: ConsumerState, lane: Lane, index: number): void {
    lane.run.finish(index);
    lane.at++;
    lane.attempt = 0;
    lane.text = undefined;
    if (lane.at < lane.indices.length) this.schedule(state, lane);
    else this.endLane(lane);
  }

  private endLane(lane: Lane): void {
    if (--lane.run.lanes === 0) lane.run.ended();
  }

  /** Queues the lane again once its backoff passed (at once when the consumer stops). */
  private retryLater(state: ConsumerState, lane: Lane, ms: number): void {
    const again = () => {
      if (lane.run.active()) this.schedule(state, lane);
      else this.endLane(lane);
    };
    if (ms <= 0 || state.stopping) {
      again();
      return;
    }
    const wake = () => {
      clearTimeout(timer);
      state.wakeUps.delete(wake);
      again();
    };
    const timer = setTimeout(wake, ms);
    state.wakeUps.add(wake);
  }

  /**
   * Dead-letters the lane's record, then goes on with the lane. If the dead letter cannot be
   * written, the lane ends there: its record and those after it are delivered again.
   */
  private deadLetterThen(
    state: ConsumerState,
    lane: Lane,
    index: number,
    message: TransportMessage,
    error: unknown,
    attempts: number,
  ): void {
    this.deadLetter(state, message, error, attempts).then(
      () => this.advance(state, lane, index),
      (reason: unknown) => {
        lane.run.error ??= { reason };
        this.endLane(lane);
      },
    );
  }

  private async deadLetter(
    state: ConsumerState,
    message: TransportMessage,
    error: unknown,
    attempts: number,
  ): Promise<void> {
    const entry: DeadLetter = {
      id: newId(),
      channel: state.channel,
      group: state.group,
      message,
      error: describeError(error),
      attempts,
      failedAt: Date.now(),
    };
    const record: DeadLetterRecord = { kind: 'dead-letter', entry };
    try {
      await this.batcher.add(this.deadLetterTopic(state.topic), {
        key: state.group,
        value: JSON.stringify(record),
      });
    } catch (sendError) {
      this.logger.error(`${PREFIX} could not write a dead letter; the record will be delivered again`, {
        topic: state.topic,
        group: state.group,
        id: message.id,
        error: describeError(sendError).message,
      });
      throw sendError;
    }
  }

  private deadLetterTopic(topic: string): string {
    return `${topic}.dlq`;
  }

  async deadLetters(
    channel: string,
    options: { group?: string; limit?: number } = {},
  ): Promise<DeadLetter[]> {
    this.assertOpen();
    checkChannelName(ADAPTER, 'channel', channel);
    const letters = (await this.readDeadLetters(this.topicName(channel))).filter(
      (letter) => options.group === undefined || letter.group === options.group,
    );
    return options.limit === undefined ? letters : letters.slice(0, Math.max(0, options.limit));
  }

  async redrive(channel: string, options: { group?: string; ids?: readonly string[] } = {}): Promise<number> {
    this.assertOpen();
    checkChannelName(ADAPTER, 'channel', channel);
    const topic = this.topicName(channel);
    const wanted = options.ids === undefined ? undefined : new Set(options.ids);
    const chosen = (await this.readDeadLetters(topic)).filter(
      (letter) =>
        (options.group === undefined || letter.group === options.group) && (!wanted || wanted.has(letter.id)),
    );
    if (chosen.length === 0) return 0;
    // Back to the channel's topic, marked for the one group that failed it; other groups skip it.
    await Promise.all(
      chosen.map((letter) =>
        this.batcher.add(topic, {
          key: letter.message.key ?? null,
          value: letter.message.type === '' ? letter.message.body : encodeTransportMessage(letter.message),
          headers: { [TARGET_GROUP_HEADER]: letter.group, 'finaegis-id': letter.message.id },
        }),
      ),
    );
    const marker: RedrivenRecord = { kind: 'redriven', ids: chosen.map((letter) => letter.id) };
    await this.batcher.add(this.deadLetterTopic(topic), { key: null, value: JSON.stringify(marker) });
    return chosen.length;
  }

  async depth(channel: string, options: { group?: string } = {}): Promise<number> {
    this.assertOpen();
    checkChannelName(ADAPTER, 'channel', channel);
    const topic = this.topicName(channel);
    const admin = await this.admin();
    let ends: { partition: number; high: string; low: string }[];
    try {
      ends = await admin.fetchTopicOffsets(topic);
    } catch {
      return 0;
    }
    const lagOf = async (groupId: string) => {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      let lag = 0;
      for (const end of ends) {
        const at = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
        const from = Number(at) >= 0 ? Number(at) : this.fromBeginning ? Number(end.low) : Number(end.high);
        lag += Math.max(0, Number(end.high) - from);
      }
      return lag;
    };
    if (options.group !== undefined) return lagOf(this.groupId(channel, options.group));
    const prefix = this.groupId(channel, '');
    const { groups } = await admin.listGroups();
    const ids = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
    if (ids.length === 0) return ends.reduce((sum, end) => sum + Number(end.high) - Number(end.low), 0);
    const lags = await Promise.all(ids.map(lagOf));
    return Math.max(...lags);
  }

  /**
   * Simulates this process dying, for tests: its consumers stop at once without waiting for their
   * handlers, commit nothing more and leave their groups, so the records they held go to other
   * consumers. Results of the abandoned handlers are ignored. The transport is closed afterwards.
   */
  async crash(): Promise<void> {
    for (const state of this.consumers) {
      state.crashed = true;
      state.stopping = true;
      for (const wake of [...state.wakeUps]) wake();
      this.releaseHolds(state);
    }
    await this.close();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const wake of [...this.outageWaits]) wake();
      await Promise.all([...this.consumers].map((state) => this.closeConsumer(state)));
      await this.batcher.drain();
      if (this.producerConnected) await this.producer.disconnect().catch(() => {});
      if (this.adminClient)
        await (await this.adminClient.catch(() => undefined))?.disconnect().catch(() => {});
    })();
    return this.closing;
  }

  private closeConsumer(state: ConsumerState): Promise<void> {
    state.closing ??= (async () => {
      state.stopping = true;
      for (const wake of [...state.wakeUps]) wake();
      this.releaseHolds(state);
      clearTimeout(state.stallTimer);
      // Handlers in flight finish and their offsets are committed (unless crashed), then the
      // consumer leaves the group so that its partitions move at once.
      if (!state.crashed) while (state.inFlight.size > 0) await Promise.allSettled([...state.inFlight]);
      await state.consumer.disconnect();
      this.consumers.delete(state);
    })();
    return state.closing;
  }

  /**
   * Runs a kafkajs call, and runs it again while it fails for want of a broker, for up to
   * `outageTimeoutMs` from the first attempt; then, or once the transport is closing, rejects with
   * `BrokerUnavailableError`. Other errors (a broker that answered "no") pass through at once.
   */
  private async rideOut<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const since = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!isBrokerUnreachable(error)) throw error;
        const waited = Date.now() - since;
        if (waited >= this.outageTimeoutMs) {
          throw new BrokerUnavailableError(operation, waited, {
            cause: error,
            why: `outageTimeoutMs is ${this.outageTimeoutMs}`,
          });
        }
        if (this.closing) {
          throw new BrokerUnavailableError(operation, waited, {
            cause: error,
            why: 'the transport was closed while waiting',
          });
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.outageWaits.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, Math.min(outageBackoff(attempt), this.outageTimeoutMs - waited));
          this.outageWaits.add(wake);
        });
      }
    }
  }

  private connectProducer(): Promise<void> {
    this.producerConnected ??= this.producer.connect().catch((error: unknown) => {
      this.producerConnected = undefined;
      throw error;
    });
    return this.producerConnected;
  }

  private admin(): Promise<Admin> {
    this.adminClient ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })().catch((error: unknown) => {
      this.adminClient = undefined;
      throw error;
    });
    return this.adminClient;
  }

  /** Creates a channel's topic and its dead-letter topic once per process, if asked to. */
  private ensureChannelTopics(topic: string): Promise<void> {
    if (!this.createTopics) return Promise.resolve();
    let known = this.knownTopics.get(topic);
    if (!known) {
      known = this.rideOut(`create the topics of ${topic}`, async () => {
        const admin = await this.admin();
        // The controller created the topic, but the broker kafkajs asks for its leaders may not have
        // heard of it yet (seen on a busy machine); kafkajs waits out only LEADER_NOT_AVAILABLE there.
        await whileTopicUnknown(10, () =>
          admin.createTopics({
            waitForLeaders: true,
            topics: [
              { topic, numPartitions: this.partitions, replicationFactor: this.replicationFactor },
              {
                topic: this.deadLetterTopic(topic),
                numPartitions: 1,
                replicationFactor: this.replicationFactor,
              },
            ],
          }),
        );
        this.readyTopics.add(topic);
      }).catch((error: unknown) => {
        this.knownTopics.delete(topic);
        throw error;
      });
      this.knownTopics.set(topic, known);
    }
    return known;
  }

  /** Reads a dead-letter topic from its start to its current end, without committing anything. */
  private async readDeadLetters(topic: string): Promise<DeadLetter[]> {
    const dlq = this.deadLetterTopic(topic);
    const records = await this.readTopic(dlq);
    const letters = new Map<string, DeadLetter>();
    for (const text of records) {
      let record: DeadLetterRecord | RedrivenRecord;
      try {
        record = JSON.parse(text) as DeadLetterRecord | RedrivenRecord;
      } catch {
        continue;
      }
      if (record.kind === 'dead-letter') letters.set(record.entry.id, record.entry);
      else if (record.kind === 'redriven') for (const id of record.ids) letters.delete(id);
    }
    return [...letters.values()].sort((a, b) => a.failedAt - b.failedAt);
  }

  private async readTopic(topic: string): Promise<string[]> {
    const admin = await this.admin();
    let ends: { partition: number; high: string; low: string }[];
    try {
      ends = await admin.fetchTopicOffsets(topic);
    } catch {
      return [];
    }
    const pending = new Map(
      ends
        .filter((end) => Number(end.high) > Number(end.low))
        .map((end) => [end.partition, Number(end.high)]),
    );
    if (pending.size === 0) return [];
    // kafkajs reads only through consumer groups: a throw-away group, deleted afterwards.
    const groupId = `${this.groupIdPrefix}finaegis-reader.${newId()}`;
    const reader = this.kafka.consumer({
      groupId,
      sessionTimeout: this.sessionTimeout,
      heartbeatInterval: this.heartbeatInterval,
      maxWaitTimeInMs: 100,
    });
    const texts: { partition: number; offset: number; text: string }[] = [];
    try {
      await reader.connect();
      await reader.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${PREFIX} reading ${topic} took longer than ${this.joinTimeoutMs} ms`)),
          this.joinTimeoutMs,
        );
        reader
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const message of batch.messages) {
                const offset = Number(message.offset);
                const high = pending.get(batch.partition);
                if (high === undefined || offset >= high) continue;
                texts.push({ partition: batch.partition, offset, text: message.value?.toString() ?? '' });
                if (offset >= high - 1) pending.delete(batch.partition);
              }
              if (pending.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await reader.disconnect().catch(() => {});
      await admin.deleteGroups([groupId]).catch(() => {});
    }
    texts.sort((a, b) => a.offset - b.offset || a.partition - b.partition);
    return texts.map((t) => t.text);
  }

  private assertOpen(): void {
    if (this.closing) throw new TransportClosedError(ADAPTER, 'send or consume');
  }
}

/** Creates a Kafka transport (see {@link KafkaTransport}). */
export function createKafkaTransport(options: KafkaTransportOptions): KafkaTransport {
  return new KafkaTransport(options);
}

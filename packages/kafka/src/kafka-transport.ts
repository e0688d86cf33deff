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
import { SendBatcher } from './send-batcher';

const ADAPTER = '@finaegis/kafka';
const PREFIX = `[${ADAPTER}]`;

/** While a batch is being handled, its finished prefix is committed at least this often. */
const COMMIT_EVERY_MS = 250;

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
}

interface DeadLetterRecord {
  readonly kind: 'dead-letter';
  readonly entry: DeadLetter;
}
interface RedrivenRecord {
  readonly kind: 'redriven';
  readonly ids: readonly string[];
}

function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** Counts handlers running in one consumer, across the partitions it works on at once. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

interface ConsumerState {
  readonly channel: string;
  readonly group: string;
  readonly topic: string;
  readonly consumer: Consumer;
  readonly handler: MessageHandler;
  readonly retry: RetryPolicy;
  readonly slots: Slots;
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
  /** Resolves pending backoff waits when the consumer stops. */
  readonly wakeUps: Set<() => void>;
  closing: Promise<void> | undefined;
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
  private readonly logger: Logger;
  private readonly producer: Producer;
  private readonly batcher: SendBatcher;
  private producerConnected: Promise<void> | undefined;
  private adminClient: Promise<Admin> | undefined;
  private readonly knownTopics = new Map<string, Promise<void>>();
  /** Topics whose creation finished: sends to them skip the wait. */
  private readonly readyTopics = new Set<string>();
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
    this.logger = options.logger ?? silentLogger;
    if (!Number.isInteger(this.partitions) || this.partitions < 1) {
      throw new RangeError(`${PREFIX} partitions must be an integer >= 1, got ${String(this.partitions)}`);
    }
    // Idempotent: a produce retried after a lost acknowledgement is not written twice.
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
    });
    this.batcher = new SendBatcher(async (topicMessages) => {
      await this.connectProducer();
      await this.producer.sendBatch({ topicMessages, acks: -1 });
    }, options.maxSendBatch ?? 500);
  }

  /** The topic that carries a channel. */
  topicName(channel: string): string {
    return `${this.topicPrefix}${channel}`;
  }

  /** The Kafka consumer group id of a channel's group. */
  groupId(channel: string, group: string): string {
    return `${this.groupIdPrefix}${channel}.${group}`;
  }

  send(channel: string, message: TransportMessage, options: SendOptions = {}): Promise<void> {
    // Not `async`: a send is one shared promise of its produce request (see SendBatcher), and an
    // async wrapper would add two more per send. Bad input still rejects rather than throws.
    try {
      this.assertOpen();
      checkChannelName(ADAPTER, 'channel', channel);
      checkSendOptions(ADAPTER, options);
      assertSendSupported(this, options);
      // Encoded from a checked copy, now: later changes to the caller's object do not leak in.
      const checked = checkTransportMessage(ADAPTER, message);
      const topic = this.topicName(channel);
      const record: Message = {
        key: options.key ?? checked.key ?? null,
        value: encodeTransportMessage(checked),
        headers: { 'finaegis-id': checked.id, 'finaegis-type': checked.type },
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

    const consumer = this.kafka.consumer({
      groupId: this.groupId(channel, group),
      sessionTimeout: this.sessionTimeout,
      heartbeatInterval: this.heartbeatInterval,
      rebalanceTimeout: this.rebalanceTimeout,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    const state: ConsumerState = {
      crashed: false,
      rebalancing: false,
      assigned: new Set(),
      epochs: new Map(),
      inFlight: new Set(),
      channel,
      group,
      topic,
      consumer,
      handler,
      retry,
      slots: new Slots(concurrency),
      stopping: false,
      wakeUps: new Set(),
      closing: undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    const joined = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${PREFIX} consumer of ${topic} did not join its group within ${this.joinTimeoutMs} ms`,
            ),
          ),
        this.joinTimeoutMs,
      );
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const now = new Set(payload.memberAssignment[topic] ?? []);
        for (const partition of state.assigned) {
          if (!now.has(partition)) state.epochs.set(partition, (state.epochs.get(partition) ?? 0) + 1);
        }
        state.assigned = now;
        state.rebalancing = false;
        clearTimeout(timer);
        resolve();
      });
    });
    // Records already started finish (and commit, which a rebalancing group still accepts); the
    // rest wait for whoever owns their partition after the rebalance, instead of being handled
    // here and then again there.
    consumer.on(consumer.events.REBALANCING, () => {
      state.rebalancing = true;
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.logger.error(`${PREFIX} the consumer of ${topic} crashed`, {
        group,
        error: describeError(payload.error).message,
        restart: payload.restart,
      });
    });
    // Awaited below; this only keeps a late timeout after a failed connect from going unhandled.
    joined.catch(() => {});
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: this.fromBeginning });
      await consumer.run({
        // Offsets are committed by handleBatch, once the records before them are handled.
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: concurrency,
        eachBatch: (payload) => this.handleBatch(state, payload),
      });
      // Resolving only once the group has assigned partitions: a send made right after `consume`
      // returns is then seen by this group even with `startFrom: 'latest'`.
      await joined;
    } catch (error) {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => {});
      throw error;
    }
    this.consumers.add(state);
    return { close: () => this.closeConsumer(state) };
  }

  /**
   * kafkajs fetches from a broker again only once every batch of the previous fetch returned, so a
   * batch that waited for its handlers would hold up every partition. Instead the partition is
   * paused, its records run in the background (one key at a time, in order), the offsets of the
   * finished prefix are resolved and committed, and the partition resumes.
   */
  private async handleBatch(state: ConsumerState, payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, pause } = payload;
    const messages = batch.messages;
    if (messages.length === 0 || state.stopping) return;
    const { partition } = batch;
    const epoch = state.epochs.get(partition) ?? 0;
    // A rebalance that leaves the partition here does not stop its work: kafkajs keeps it paused,
    // and the offsets resolved later go to the new generation's commit.
    const current = () =>
      !state.crashed && state.assigned.has(partition) && (state.epochs.get(partition) ?? 0) === epoch;
    const active = () => current() && !state.stopping && !state.rebalancing;
    const resume = pause();
    const done = new Array<boolean>(messages.length).fill(false);
    let resolvedUpTo = 0;
    let committedUpTo = 0;
    let lastCommit = Date.now();
    const commit = async () => {
      if (resolvedUpTo <= committedUpTo || !current()) return;
      const upTo = resolvedUpTo;
      lastCommit = Date.now();
      const offset = String(Number(messages[upTo - 1]!.offset) + 1);
      try {
        await state.consumer.commitOffsets([{ topic: batch.topic, partition, offset }]);
        committedUpTo = Math.max(committedUpTo, upTo);
      } catch (error) {
        this.logger.warn(`${PREFIX} offset commit failed; those records may be delivered again`, {
          topic: batch.topic,
          partition,
          error: describeError(error).message,
        });
      }
    };
    const chains = new Map<string, Promise<void>>();
    const running: Promise<void>[] = [];
    for (let index = 0; index < messages.length; index++) {
      const record = messages[index]!;
      const key = record.key === null ? undefined : record.key.toString();
      const previous = key === undefined ? undefined : chains.get(key);
      const work = (previous ?? Promise.resolve()).then(async () => {
        if (!active()) return;
        if (!(await this.handleRecord(state, batch.partition, record, active))) return;
        done[index] = true;
        // Only a contiguous prefix of finished records may be committed, and only while this
        // consumer still owns the partition.
        while (current() && resolvedUpTo < messages.length && done[resolvedUpTo]) {
          resolveOffset(messages[resolvedUpTo]!.offset);
          resolvedUpTo++;
        }
        // A long batch commits as it goes, so that a crash repeats little work.
        if (Date.now() - lastCommit >= COMMIT_EVERY_MS) await commit();
      });
      if (key !== undefined) chains.set(key, work);
      running.push(work);
    }
    const finished = (async () => {
      const results = await Promise.allSettled(running);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      await commit();
      if (failed) {
        this.logger.error(
          `${PREFIX} a record could not be handled nor dead-lettered; it will be delivered again`,
          {
            topic: batch.topic,
            partition: batch.partition,
            error: describeError(failed.reason).message,
          },
        );
        // Fetch again from the last commit, so the unfinished records come back.
        if (current() && !state.stopping) {
          const from = messages[resolvedUpTo]!.offset;
          state.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: from });
        }
      }
    })().finally(() => {
      state.inFlight.delete(finished);
      // After a rebalance or a crash the partition may belong to another consumer: resuming it
      // here only matters if it is still ours, and then its unfinished records are fetched again.
      if (!state.crashed) resume();
    });
    state.inFlight.add(finished);
  }

  /**
   * Runs one record through its attempts and dead-letters it when they run out. Returns false when
   * it was abandoned (the consumer stops or lost the partition): the record stays uncommitted and
   * its next owner handles it again.
   */
  private async handleRecord(
    state: ConsumerState,
    partition: number,
    record: KafkaMessage,
    active: () => boolean,
  ): Promise<boolean> {
    const target = headerText(record.headers, TARGET_GROUP_HEADER);
    if (target !== undefined && target !== state.group) return true;
    const raw = record.value === null ? '' : record.value.toString();
    let message: TransportMessage;
    try {
      message = decodeTransportMessage(raw);
    } catch (error) {
      const id = `${state.topic}-${partition}-${record.offset}`;
      await this.deadLetter(state, { id, type: '', body: raw, headers: {} }, error, 1);
      return true;
    }
    for (let attempt = 1; ; attempt++) {
      await state.slots.take();
      if (!active()) {
        state.slots.give();
        return false;
      }
      let failure: unknown;
      let failed = false;
      try {
        const received: ReceivedMessage = {
          id: message.id,
          type: message.type,
          body: message.body,
          headers: { ...message.headers },
          channel: state.channel,
          group: state.group,
          attempt,
          ...(message.key === undefined ? {} : { key: message.key }),
        };
        await state.handler(received);
      } catch (error) {
        failed = true;
        failure = error;
      } finally {
        state.slots.give();
      }
      if (state.crashed) return false;
      if (!failed) return true;
      if (!isRetryable(failure) || attempt >= state.retry.attempts) {
        await this.deadLetter(state, message, failure, attempt);
        return true;
      }
      await this.backoff(state, backoffDelay(state.retry.backoff, attempt));
      if (!active()) return false;
    }
  }

  private backoff(state: ConsumerState, ms: number): Promise<void> {
    if (ms <= 0 || state.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        state.wakeUps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      state.wakeUps.add(wake);
    });
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
    }
    await this.close();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
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
      // Handlers in flight finish and their offsets are committed (unless crashed), then the
      // consumer leaves the group so that its partitions move at once.
      if (!state.crashed) while (state.inFlight.size > 0) await Promise.allSettled([...state.inFlight]);
      await state.consumer.disconnect();
      this.consumers.delete(state);
    })();
    return state.closing;
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
      known = (async () => {
        const admin = await this.admin();
        await admin.createTopics({
          waitForLeaders: true,
          topics: [
            { topic, numPartitions: this.partitions, replicationFactor: this.replicationFactor },
            {
              topic: this.deadLetterTopic(topic),
              numPartitions: 1,
              replicationFactor: this.replicationFactor,
            },
          ],
        });
        this.readyTopics.add(topic);
      })().catch((error: unknown) => {
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

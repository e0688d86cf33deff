import {
  type ConsumeOptions,
  type DeadLetter,
  type HealthCheck,
  InvalidArgumentError,
  type MessageHandler,
  type SendOptions,
  type Subscription,
  type Transport,
  type TransportFeatures,
  type TransportMessage,
} from '@finaegis/core';
import {
  assertSendSupported,
  checkChannelName,
  checkConsumeArguments,
  checkSendOptions,
  checkTransportMessage,
  Lifecycle,
} from '@finaegis/core/adapter';
import type { KafkaRuntime } from './consumer-state';
import { listDeadLetters, redriveDeadLetters } from './dead-letters';
import { closeConsumer, crashConsumer, startGroupConsumer } from './kafka-consumer';
import { type ConsumerFailure, recordingFailures, transportHealth } from './kafka-health';
import { ADAPTER, FEATURES, type KafkaTransportOptions, resolveKafkaOptions } from './kafka-options';
import { encodeRecord } from './kafka-wire';
import { channelLag } from './lag';
import { OutageRider } from './outage';
import { ProducerSession } from './producer-session';
import { SendBatcher } from './send-batcher';
import { type ChannelFormat, resolveSendFormats } from './send-formats';
import { KafkaTopics } from './topics';

/**
 * The Transport port on Apache Kafka through kafkajs, as {@link createKafkaTransport} makes it.
 *
 * - A channel is a topic (`topicPrefix + channel`), created with `partitions` partitions unless it
 *   exists. Its dead letters go to `<topic>.dlq` (one partition, so they list oldest first).
 * - A consumer group of a channel is the Kafka consumer group `groupIdPrefix + channel + '.' + group`.
 * - The partition key is `SendOptions.key ?? message.key`; records of one key are handled one at a
 *   time, in order, by one consumer of a group. Received messages carry their `partition`.
 * - Records are in our wire format, or CloudEvents on the channels the `cloudEvents` option names
 *   (WIRE-FORMAT.md); consumers read every format, take the record key as the message's key, and
 *   hand the record's headers to handlers beside the message's own.
 * - An offset is committed only once its record's handler succeeded or the record was dead-lettered
 *   (at-least-once). Retries wait their backoff in the consumer, holding up only the record's key
 *   (and the partition's next fetch), never other partitions.
 */
export interface KafkaTransport extends Transport {
  /** The topic that carries a channel (`topicPrefix + channel`). */
  topicName(channel: string): string;
  /** The Kafka consumer group id of a channel's group (`groupIdPrefix + channel + '.' + group`). */
  groupId(channel: string, group: string): string;
}

/**
 * Key of the crash hook. A registered symbol rather than an `instanceof` check: the CommonJS build
 * gives `@finaegis/kafka` and `@finaegis/kafka/testing` each a copy of this class.
 */
const CRASH = Symbol.for('@finaegis/kafka/testing: crash');

class KafkaTransportImpl implements KafkaTransport {
  readonly name = 'kafka';
  readonly features: TransportFeatures = FEATURES;

  readonly #runtime: KafkaRuntime;
  readonly #producer: ProducerSession;
  readonly #lifecycle = new Lifecycle(ADAPTER);
  readonly #failures: ConsumerFailure[] = [];
  readonly #formatOf: (channel: string) => ChannelFormat;

  constructor(options: KafkaTransportOptions) {
    const { kafka, settings } = resolveKafkaOptions(recordingFailures(options, this.#failures));
    this.#formatOf = resolveSendFormats(options.cloudEvents);
    const outage = new OutageRider(settings.outageTimeoutMs, () => this.#lifecycle.closed);
    // Idempotent, acks=all, renewed after a request it gave up on (see ProducerSession).
    this.#producer = new ProducerSession(kafka, outage, settings.logger, settings.outageTimeoutMs);
    const batcher = new SendBatcher(
      (topicMessages) => this.#producer.send(topicMessages),
      settings.maxSendBatch,
    );
    this.#runtime = {
      kafka,
      settings,
      logger: settings.logger,
      batcher,
      topics: new KafkaTopics(kafka, settings, outage),
      outage,
      consumers: new Set(),
    };
  }

  topicName(channel: string): string {
    return this.#runtime.topics.topicName(channel);
  }

  groupId(channel: string, group: string): string {
    return this.#runtime.topics.groupId(channel, group);
  }

  send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void> {
    // Not `async`: a send is one shared promise of its produce request (see SendBatcher), and an
    // async wrapper would add two more per send. Bad input still rejects rather than throws.
    try {
      this.#lifecycle.assertOpen('send or consume');
      checkChannelName(ADAPTER, 'channel', channel);
      checkSendOptions(ADAPTER, options);
      assertSendSupported(this, options, ADAPTER);
      const checked = checkTransportMessage(ADAPTER, message);
      // Encoded in the same synchronous step as the check, so that what was checked is what is
      // sent, and later changes to the caller's object do not leak in; the encoder takes only the
      // five fields. The caller's object rather than the checked copy unless headers are missing:
      // the copy of a keyed message is an object V8 reads slowly (a third more per send).
      const source = message.headers === undefined ? checked : message;
      const { topics, batcher } = this.#runtime;
      const topic = topics.sendTopic(channel);
      const { format, source: eventSource } = this.#formatOf(channel);
      const record = encodeRecord(source, options?.key ?? source.key, format, eventSource);
      if (topics.isReady(topic)) return batcher.add(topic, record);
      return topics.ensureChannelTopics(topic).then(() => batcher.add(topic, record));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async consume(channel: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription> {
    this.#lifecycle.assertOpen('send or consume');
    const resolved = checkConsumeArguments(ADAPTER, channel, handler, options);
    return startGroupConsumer(this.#runtime, channel, handler, resolved);
  }

  async deadLetters(
    channel: string,
    options: { group?: string; limit?: number } = {},
  ): Promise<DeadLetter[]> {
    this.#lifecycle.assertOpen('send or consume');
    checkChannelName(ADAPTER, 'channel', channel);
    return listDeadLetters(this.#runtime, channel, options);
  }

  async redrive(channel: string, options: { group?: string; ids?: readonly string[] } = {}): Promise<number> {
    this.#lifecycle.assertOpen('send or consume');
    checkChannelName(ADAPTER, 'channel', channel);
    return redriveDeadLetters(this.#runtime, channel, options);
  }

  async depth(channel: string, options: { group?: string } = {}): Promise<number> {
    this.#lifecycle.assertOpen('send or consume');
    checkChannelName(ADAPTER, 'channel', channel);
    return channelLag(this.#runtime, channel, options.group);
  }

  /** For `crashKafkaTransport` (`@finaegis/kafka/testing`): this process dies, as far as Kafka sees. */
  async [CRASH](): Promise<void> {
    for (const state of this.#runtime.consumers) crashConsumer(state);
    await this.close();
  }

  /** The cluster answering, each consumer in its group, and consumers that stopped for good (kafka-health.ts). */
  health(): Promise<readonly HealthCheck[]> {
    return transportHealth(this.#lifecycle.closed ? undefined : this.#runtime, this.#failures);
  }

  close(): Promise<void> {
    return this.#lifecycle.close(async () => {
      const { outage, consumers, batcher, topics } = this.#runtime;
      outage.wakeAll();
      await Promise.all([...consumers].map((state) => closeConsumer(state)));
      await batcher.drain();
      await this.#producer.close();
      await topics.close();
    });
  }
}

/** Creates a Kafka transport (see {@link KafkaTransport}). @throws ConfigError for bad options. */
export function createKafkaTransport(options: KafkaTransportOptions): KafkaTransport {
  return new KafkaTransportImpl(options);
}

/**
 * Simulates the process of `transport` dying (see `@finaegis/kafka/testing`).
 * @throws InvalidArgumentError when `transport` was not made by `createKafkaTransport`.
 */
export async function crashTransport(transport: KafkaTransport): Promise<void> {
  const crash = (transport as Partial<Pick<KafkaTransportImpl, typeof CRASH>>)[CRASH];
  if (typeof crash !== 'function') {
    throw new InvalidArgumentError(ADAPTER, 'transport', 'must be made by createKafkaTransport');
  }
  await crash.call(transport);
}

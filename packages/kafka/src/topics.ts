import type { Admin, Kafka } from 'kafkajs';
import type { KafkaSettings } from './kafka-options';
import { type OutageRider, whileTopicUnknown } from './outage';

/**
 * Names of topics and consumer groups, and the topics and admin client the transport creates.
 * A channel is the topic `topicPrefix + channel`; its dead letters go to `<topic>.dlq`; a group of
 * a channel is the Kafka consumer group `groupIdPrefix + channel + '.' + group`.
 */
export class KafkaTopics {
  readonly #kafka: Kafka;
  readonly #settings: KafkaSettings;
  readonly #outage: OutageRider;
  #adminClient: Promise<Admin> | undefined;
  readonly #knownTopics = new Map<string, Promise<void>>();
  /** Topics whose creation finished: sends to them skip the wait. */
  readonly #readyTopics = new Set<string>();
  readonly #sendTopics = new Map<string, string>();

  constructor(kafka: Kafka, settings: KafkaSettings, outage: OutageRider) {
    this.#kafka = kafka;
    this.#settings = settings;
    this.#outage = outage;
  }

  /** The topic that carries a channel. */
  topicName(channel: string): string {
    return `${this.#settings.topicPrefix}${channel}`;
  }

  /** `topicName`, remembered per channel: sends skip building and hashing a new string each time. */
  sendTopic(channel: string): string {
    let topic = this.#sendTopics.get(channel);
    if (topic === undefined) {
      topic = this.topicName(channel);
      this.#sendTopics.set(channel, topic);
    }
    return topic;
  }

  /** The Kafka consumer group id of a channel's group. */
  groupId(channel: string, group: string): string {
    return `${this.#settings.groupIdPrefix}${channel}.${group}`;
  }

  deadLetterTopic(topic: string): string {
    return `${topic}.dlq`;
  }

  /** Whether a send to `topic` may go at once (its topics exist, or are not the transport's job). */
  isReady(topic: string): boolean {
    return !this.#settings.createTopics || this.#readyTopics.has(topic);
  }

  admin(): Promise<Admin> {
    this.#adminClient ??= (async () => {
      const admin = this.#kafka.admin();
      await admin.connect();
      return admin;
    })().catch((error: unknown) => {
      this.#adminClient = undefined;
      throw error;
    });
    return this.#adminClient;
  }

  /** Disconnects the admin client, if one was made. */
  async close(): Promise<void> {
    if (this.#adminClient)
      await (await this.#adminClient.catch(() => undefined))?.disconnect().catch(() => {});
  }

  /** Creates a channel's topic and its dead-letter topic once per process, if asked to. */
  ensureChannelTopics(topic: string): Promise<void> {
    if (!this.#settings.createTopics) return Promise.resolve();
    let known = this.#knownTopics.get(topic);
    if (!known) {
      const { partitions, replicationFactor } = this.#settings;
      known = this.#outage
        .rideOut(`create the topics of ${topic}`, async () => {
          const admin = await this.admin();
          // The controller created the topic, but the broker kafkajs asks for its leaders may not
          // have heard of it yet (seen on a busy machine); kafkajs waits out only
          // LEADER_NOT_AVAILABLE there.
          await whileTopicUnknown(10, () =>
            admin.createTopics({
              waitForLeaders: true,
              topics: [
                { topic, numPartitions: partitions, replicationFactor },
                { topic: this.deadLetterTopic(topic), numPartitions: 1, replicationFactor },
              ],
            }),
          );
          this.#readyTopics.add(topic);
        })
        .catch((error: unknown) => {
          this.#knownTopics.delete(topic);
          throw error;
        });
      this.#knownTopics.set(topic, known);
    }
    return known;
  }
}

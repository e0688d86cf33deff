import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import type { KafkaSettings } from './kafka-options';
import { type OutageRider, whileTopicUnknown } from './outage';

/** The replication of the topics the transport creates. */
export interface TopicReplication {
  /** `-1`: the broker's `default.replication.factor`. */
  readonly replicationFactor: number;
  /** Undefined: the broker's `min.insync.replicas`. */
  readonly minInSyncReplicas: number | undefined;
}

/**
 * The replication a topic gets: what the options say, else chosen from the number of brokers the
 * cluster has registered, so that a cluster never gets unreplicated topics by default and a single
 * development broker still works: 3 replicas (at least 2 in sync) from three brokers on, else one
 * per broker.
 */
export function chooseReplication(
  settings: Pick<KafkaSettings, 'replicationFactor' | 'minInSyncReplicas'>,
  brokerCount: number,
): TopicReplication {
  const replicationFactor = settings.replicationFactor ?? Math.max(1, Math.min(3, brokerCount));
  const minInSyncReplicas = settings.minInSyncReplicas ?? (replicationFactor >= 3 ? 2 : undefined);
  return { replicationFactor, minInSyncReplicas };
}

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
  #replication: Promise<TopicReplication> | undefined;

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

  /**
   * The replication of the topics this transport creates, decided once (see `chooseReplication`):
   * counting the brokers costs a metadata request only when the options leave it open.
   */
  replication(): Promise<TopicReplication> {
    this.#replication ??= (async () => {
      const { replicationFactor, minInSyncReplicas } = this.#settings;
      if (replicationFactor !== undefined) return chooseReplication(this.#settings, 0);
      const { brokers } = await (await this.admin()).describeCluster();
      const chosen = chooseReplication(this.#settings, brokers.length);
      if (brokers.length > 1 && brokers.length < 3) {
        this.#settings.logger.warn(
          `only ${brokers.length} brokers are registered: topics get replication factor ` +
            `${chosen.replicationFactor}; set replicationFactor (and minInSyncReplicas) to choose`,
          { replicationFactor: chosen.replicationFactor, minInSyncReplicas },
        );
      }
      return chosen;
    })().catch((error: unknown) => {
      this.#replication = undefined;
      throw error;
    });
    return this.#replication;
  }

  /** Creates a channel's topic and its dead-letter topic once per process, if asked to. */
  ensureChannelTopics(topic: string): Promise<void> {
    if (!this.#settings.createTopics) return Promise.resolve();
    let known = this.#knownTopics.get(topic);
    if (!known) {
      const { partitions } = this.#settings;
      known = this.#outage
        .rideOut(`create the topics of ${topic}`, async () => {
          const admin = await this.admin();
          const { replicationFactor, minInSyncReplicas } = await this.replication();
          const configEntries: ITopicConfig['configEntries'] =
            minInSyncReplicas === undefined
              ? []
              : [{ name: 'min.insync.replicas', value: String(minInSyncReplicas) }];
          // The controller created the topic, but the broker kafkajs asks for its leaders may not
          // have heard of it yet (seen on a busy machine); kafkajs waits out only
          // LEADER_NOT_AVAILABLE there.
          await whileTopicUnknown(10, () =>
            admin.createTopics({
              waitForLeaders: true,
              topics: [
                { topic, numPartitions: partitions, replicationFactor, configEntries },
                { topic: this.deadLetterTopic(topic), numPartitions: 1, replicationFactor, configEntries },
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

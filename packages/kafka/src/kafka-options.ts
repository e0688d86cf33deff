import { ConfigError, consoleLogger, type Logger, type TransportFeatures } from '@finaegis/core';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import type { KafkaCloudEventsOptions } from './send-formats';

export const ADAPTER = '@finaegis/kafka';
export const PREFIX = `[${ADAPTER}]`;

export const FEATURES: TransportFeatures = Object.freeze({
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
  /**
   * Client id when the transport creates the kafkajs client (brokers log it and can apply quotas
   * by it). Default `finaegis`.
   */
  readonly clientId?: string;
  /** TLS for the client the transport creates (kafkajs `ssl`: `true` or TLS connection options). */
  readonly ssl?: KafkaConfig['ssl'];
  /** SASL for the client the transport creates (kafkajs `sasl`: plain, scram-sha-256/512, ...). */
  readonly sasl?: KafkaConfig['sasl'];
  /** Prepended to a channel name to make its topic. Default `''`. */
  readonly topicPrefix?: string;
  /** Prepended to `<channel>.<group>` to make a consumer group id. Default: `topicPrefix`. */
  readonly groupIdPrefix?: string;
  /** Create missing topics (channel and dead-letter topics) through the admin. Default true. */
  readonly createTopics?: boolean;
  /** Partitions of a channel topic the transport creates. Default 6. */
  readonly partitions?: number;
  /**
   * Replication factor of the topics the transport creates. Default: 3 when the cluster has at
   * least three brokers, else as many as it has (1 on a single development broker); never 1 on a
   * cluster. `-1` leaves it to the broker's `default.replication.factor`.
   */
  readonly replicationFactor?: number;
  /**
   * `min.insync.replicas` of the topics the transport creates: how many replicas must have a record
   * before a send resolves (sends use acks=all). Default 2 when the replication factor is 3 or more,
   * else the broker's own setting. At most the replication factor.
   */
  readonly minInSyncReplicas?: number;
  /** Where a consumer group without committed offsets starts: `earliest` (default) or `latest`. */
  readonly startFrom?: 'earliest' | 'latest';
  /**
   * Consumer session timeout in ms: how soon the partitions of a consumer that died without leaving
   * (SIGKILL, lost host) move to a live one. Default 6,000 (the broker's usual minimum,
   * `group.min.session.timeout.ms`), so a dead worker's work moves within about 8 s. Higher values
   * ride out longer pauses (a consumer that sends no heartbeat for this long, e.g. an event loop
   * blocked by a long synchronous handler or GC, is dropped and its records handled again
   * elsewhere) at the price of a longer stop after a crash. kafkajs's own default is 30,000.
   */
  readonly sessionTimeoutMs?: number;
  /** Consumer heartbeat interval in ms (well below `sessionTimeoutMs`). Default 1,000. */
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
  /**
   * Where the transport reports what it cannot throw (a dead-letter write that failed, a consumer
   * that crashed). Default: `consoleLogger('finaegis.kafka')`.
   */
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
  /**
   * Channels whose sends are CloudEvents 1.0 (binary or structured mode) instead of our own format;
   * see WIRE-FORMAT.md. Consumers read every format on every channel. Default: none.
   */
  readonly cloudEvents?: KafkaCloudEventsOptions;
}

/** The options with their defaults filled in and checked. */
export interface KafkaSettings {
  readonly topicPrefix: string;
  readonly groupIdPrefix: string;
  readonly createTopics: boolean;
  readonly partitions: number;
  /** Undefined: chosen from the number of brokers when a topic is created. */
  readonly replicationFactor: number | undefined;
  /** Undefined: 2 when the replication factor is 3 or more, else the broker's setting. */
  readonly minInSyncReplicas: number | undefined;
  readonly fromBeginning: boolean;
  readonly sessionTimeout: number;
  readonly heartbeatInterval: number;
  readonly rebalanceTimeout: number;
  readonly joinTimeoutMs: number;
  readonly outageTimeoutMs: number;
  readonly maxSendBatch: number;
  readonly onConsumerFailure: KafkaTransportOptions['onConsumerFailure'];
  readonly logger: Logger;
}

/**
 * The kafkajs client to use (the one given, or one made from `brokers`) and the settings.
 * @throws ConfigError for missing brokers, a bad `partitions` or `outageTimeoutMs`.
 */
export function resolveKafkaOptions(options: KafkaTransportOptions): {
  kafka: Kafka;
  settings: KafkaSettings;
} {
  let kafka: Kafka;
  if (options.kafka) {
    kafka = options.kafka;
  } else {
    const brokers =
      typeof options.brokers === 'string'
        ? options.brokers.split(',').map((b) => b.trim())
        : [...(options.brokers ?? [])];
    if (brokers.length === 0 || brokers.some((b) => b.length === 0)) {
      throw new ConfigError(
        'brokers',
        options.brokers,
        'broker addresses (or give `kafka`, a kafkajs client)',
        { adapter: ADAPTER },
      );
    }
    kafka = new Kafka({
      clientId: options.clientId ?? 'finaegis',
      brokers,
      ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
      ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
      logLevel: logLevel.NOTHING,
      // Stated rather than left to kafkajs, whose defaults change with NODE_ENV (`test` has its
      // own). As patient as either (each call keeps trying for about 9.5 s), with waits of at
      // most a second, so a broker that is back is seen soon; `rideOut` decides whether to call
      // again, so that giving up follows `outageTimeoutMs`, not a count of attempts.
      retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 12 },
    });
  }
  const topicPrefix = options.topicPrefix ?? '';
  const settings: KafkaSettings = {
    topicPrefix,
    groupIdPrefix: options.groupIdPrefix ?? topicPrefix,
    createTopics: options.createTopics ?? true,
    partitions: options.partitions ?? 6,
    replicationFactor: options.replicationFactor,
    minInSyncReplicas: options.minInSyncReplicas,
    fromBeginning: (options.startFrom ?? 'earliest') === 'earliest',
    sessionTimeout: options.sessionTimeoutMs ?? 6_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 1_000,
    rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
    joinTimeoutMs: options.joinTimeoutMs ?? 60_000,
    outageTimeoutMs: options.outageTimeoutMs ?? 60_000,
    maxSendBatch: options.maxSendBatch ?? 500,
    onConsumerFailure: options.onConsumerFailure,
    logger: options.logger ?? consoleLogger('finaegis.kafka'),
  };
  if (!Number.isInteger(settings.partitions) || settings.partitions < 1) {
    throw new ConfigError('partitions', settings.partitions, 'an integer >= 1', { adapter: ADAPTER });
  }
  checkReplication(settings);
  if (!Number.isFinite(settings.outageTimeoutMs) || settings.outageTimeoutMs < 0) {
    throw new ConfigError('outageTimeoutMs', settings.outageTimeoutMs, 'a number of ms >= 0', {
      adapter: ADAPTER,
    });
  }
  return { kafka, settings };
}

function checkReplication({ replicationFactor, minInSyncReplicas }: KafkaSettings): void {
  if (
    replicationFactor !== undefined &&
    replicationFactor !== -1 &&
    (!Number.isInteger(replicationFactor) || replicationFactor < 1)
  ) {
    throw new ConfigError(
      'replicationFactor',
      replicationFactor,
      'an integer >= 1, or -1 for the broker default',
      {
        adapter: ADAPTER,
      },
    );
  }
  if (minInSyncReplicas === undefined) return;
  if (!Number.isInteger(minInSyncReplicas) || minInSyncReplicas < 1) {
    throw new ConfigError('minInSyncReplicas', minInSyncReplicas, 'an integer >= 1', { adapter: ADAPTER });
  }
  if (replicationFactor !== undefined && replicationFactor !== -1 && minInSyncReplicas > replicationFactor) {
    // Every send to such a topic would fail: acks=all can never be met.
    throw new ConfigError(
      'minInSyncReplicas',
      minInSyncReplicas,
      `at most replicationFactor (${replicationFactor})`,
      { adapter: ADAPTER },
    );
  }
}

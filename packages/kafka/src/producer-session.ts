import type { Logger } from '@finaegis/core';
import {
  type ICustomPartitioner,
  type Kafka,
  type Message,
  Partitioners,
  type Producer,
  type ProducerConfig,
  type RecordMetadata,
  type TopicMessages,
} from 'kafkajs';
import { type OutageRider, whileTopicUnknown } from './outage';

/**
 * Inner attempts of one produce request inside kafkajs, with the client's waits (100 ms to 1 s):
 * about 2.5 s, enough to follow a partition leader that moved. Longer trouble (a cluster that is
 * down, too few in-sync replicas) is waited out by the transport for `outageTimeoutMs`, which
 * kafkajs' own idempotent default (retrying forever) would turn into a send that never returns.
 */
export const PRODUCER_RETRIES = 5;

/** The partition each record went to, fixed at its first attempt (see `stickyPartitioner`). */
const partitionOf = new WeakMap<Message, number>();

/**
 * kafkajs' default partitioner (the Java client's: murmur2 of the key, round robin without one),
 * remembering its choice per record, so that every attempt of a request sends each partition the
 * same records, a keyless record included. `ProducerSession.send` relies on that to tell which
 * records a response covers.
 */
const stickyPartitioner: ICustomPartitioner = () => {
  const choose = Partitioners.DefaultPartitioner();
  return (args) => {
    const known = partitionOf.get(args.message);
    if (known !== undefined) return known;
    const partition = choose(args);
    partitionOf.set(args.message, partition);
    return partition;
  };
};

/**
 * The transport's producer settings. Idempotent: the broker drops the copy of a request kafkajs
 * sends again after a lost acknowledgement. kafkajs keeps one sequence number per partition and
 * moves it on only when a request succeeded, so it needs one request in flight per broker
 * (`maxInFlightRequests: 1`); the transport batches concurrent sends into one request instead.
 * Sends use acks=all (`-1`). No topic is created by asking for its metadata: topics come from the
 * transport's admin (with their replication) or already exist.
 */
export const PRODUCER_CONFIG: ProducerConfig = Object.freeze({
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  retry: { retries: PRODUCER_RETRIES },
  createPartitioner: stickyPartitioner,
});

/** The records of `sent` whose partition no entry of `acknowledged` covers. */
function unacknowledged(sent: TopicMessages[], acknowledged: RecordMetadata[]): TopicMessages[] {
  const covered = new Set(acknowledged.map((r) => `${r.partition}:${r.topicName}`));
  const left: TopicMessages[] = [];
  for (const { topic, messages } of sent) {
    const missing = messages.filter((m) => !covered.has(`${partitionOf.get(m)}:${topic}`));
    if (missing.length > 0) left.push({ topic, messages: missing });
  }
  return left;
}

const count = (list: TopicMessages[]) => list.reduce((n, t) => n + t.messages.length, 0);

/**
 * The transport's idempotent producer (see `PRODUCER_CONFIG`), with two guards against kafkajs
 * 2.2.4 losing records on a cluster.
 *
 * - **Records kafkajs skipped.** Within one `sendBatch`, kafkajs keeps the answers of the brokers
 *   that succeeded and retries only the others. When a partition's leader died and the partition
 *   moved to a broker that had already answered, kafkajs never sends that partition's records, yet
 *   resolves (kafkajs issue 1303; seen in the leader failover test). Every response is therefore
 *   checked against the partitions the records went to, and records of partitions it does not
 *   cover are sent again.
 * - **Reused sequence numbers.** kafkajs puts a partition's sequence number back when a request
 *   fails, so the next request reuses it. When the failed request was written after all (it timed
 *   out, or reached the leader but too few replicas), the broker would take the next records for
 *   a retry of those, acknowledge them and drop them. After a request the transport gave up on,
 *   the producer is therefore replaced: a new producer id starts new sequences. Requests that are
 *   retried carry the same records and keep their producer, which is what lets the broker drop
 *   the copies.
 */
export class ProducerSession {
  readonly #kafka: Kafka;
  readonly #outage: OutageRider;
  readonly #logger: Logger;
  /** How long a broker may wait for a request's replicas (`acks: -1`) before answering. */
  readonly #ackTimeoutMs: number;
  #producer: Producer;
  #connected: Promise<void> | undefined;

  constructor(kafka: Kafka, outage: OutageRider, logger: Logger, outageTimeoutMs: number) {
    this.#kafka = kafka;
    this.#outage = outage;
    this.#logger = logger;
    // Kafka's (and kafkajs') 30 s, unless the transport gives up sooner: a leader waiting for
    // replicas that are gone would otherwise hold a send past outageTimeoutMs.
    this.#ackTimeoutMs = Math.min(30_000, Math.max(1_000, outageTimeoutMs));
    this.#producer = kafka.producer(PRODUCER_CONFIG);
  }

  /**
   * Sends one request with acks=all, riding out missing brokers and too few in-sync replicas for
   * `outageTimeoutMs`. Calls must not overlap (the send batcher makes one request at a time).
   */
  async send(topicMessages: TopicMessages[]): Promise<void> {
    // Outside the attempts: an attempt after a failure sends only what is not acknowledged yet.
    let pending = topicMessages;
    try {
      await this.#outage.rideOut('send', async () => {
        await this.#connect();
        while (pending.length > 0) {
          // A topic just created may not be known yet to the broker kafkajs asks for metadata.
          const acknowledged = await whileTopicUnknown(4, () =>
            this.#producer.sendBatch({ topicMessages: pending, acks: -1, timeout: this.#ackTimeoutMs }),
          );
          const left = unacknowledged(pending, acknowledged);
          if (left.length > 0) {
            this.#logger.warn(
              `kafkajs reported a produce request done without sending ${count(left)} of its records (their partition's leader moved); sending them again`,
              { topics: left.map((t) => t.topic) },
            );
          }
          pending = left;
        }
      });
    } catch (error) {
      await this.#renew();
      throw error;
    }
  }

  /** Disconnects the producer, if it ever connected. */
  async close(): Promise<void> {
    if (this.#connected) await this.#producer.disconnect().catch(() => {});
  }

  async #renew(): Promise<void> {
    const retired = this.#producer;
    const wasConnected = this.#connected !== undefined;
    this.#producer = this.#kafka.producer(PRODUCER_CONFIG);
    this.#connected = undefined;
    if (wasConnected) await retired.disconnect().catch(() => {});
  }

  #connect(): Promise<void> {
    this.#connected ??= this.#producer.connect().catch((error: unknown) => {
      this.#connected = undefined;
      throw error;
    });
    return this.#connected;
  }
}

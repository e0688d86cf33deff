import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaTransport, type KafkaTransport, type KafkaTransportOptions } from '../src/index';

export const BROKERS = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',').map((b) => b.trim());

/** A kafkajs client for the tests' own producers and admin (never the transport's). */
export const kafka = new Kafka({
  clientId: 'finaegis-kafka-tests',
  brokers: BROKERS,
  logLevel: logLevel.NOTHING,
});

/** Fails (never skips) with what is missing when no broker answers. */
export async function requireKafka(): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } catch (error) {
    throw new Error(
      `Kafka is missing: no broker answers at KAFKA_BROKERS=${BROKERS.join(',')} ` +
        `(${(error as Error).message}). Start one with \`pnpm services:up\`.`,
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export function uniquePrefix(): string {
  return `finaegis-test-${randomBytes(4).toString('hex')}.`;
}

/** Options that keep tests quick: short sessions so that rebalances and dead consumers show fast. */
export function testTransport(prefix: string, extra: Partial<KafkaTransportOptions> = {}): KafkaTransport {
  return createKafkaTransport({
    brokers: BROKERS,
    topicPrefix: prefix,
    partitions: 3,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    rebalanceTimeoutMs: 8_000,
    ...extra,
  });
}

/** Deletes the topics and consumer groups a test file created under its prefix. */
export async function removePrefix(prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
    const { groups } = await admin.listGroups();
    const ids = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
    if (ids.length > 0) await admin.deleteGroups(ids).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

// What the transport asks for when it creates topics on a three-broker cluster whose brokers keep
// Kafka's own defaults (default.replication.factor=1, min.insync.replicas=1): replication factor 3
// and min.insync.replicas=2 for a channel's topic and its dead-letter topic, unless told otherwise.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KafkaTransport } from '../../src/index';
import { KafkaCluster } from '../cluster';
import { uniquePrefix } from '../helpers';
import { clusterTransport } from './stream';

const prefix = uniquePrefix();
let cluster: KafkaCluster;
const transports: KafkaTransport[] = [];
const logged: string[] = [];

beforeAll(async () => {
  cluster = await KafkaCluster.open();
});

afterAll(async () => {
  await Promise.allSettled(transports.map((t) => t.close()));
  await cluster?.removePrefix(prefix);
  await cluster?.close();
});

/** Kafka's config source of a setting made on the topic itself (DYNAMIC_TOPIC_CONFIG). */
const TOPIC_SETTING = 1;

/** Replicas per partition and the topic's min.insync.replicas (and whether the topic sets it). */
async function replication(topic: string) {
  const admin = await cluster.admin();
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }],
  });
  const entry = resources[0]!.configEntries[0]!;
  return {
    replicas: [...new Set(topics[0]!.partitions.map((p) => p.replicas.length))],
    minInSync: entry.configValue,
    setOnTopic: entry.configSource === TOPIC_SETTING,
  };
}

describe('topic replication on a three-broker cluster', () => {
  test('by default, a channel topic and its dead-letter topic get 3 replicas and min.insync.replicas=2', async () => {
    const transport = clusterTransport(cluster.brokers, prefix, logged);
    transports.push(transport);
    await transport.send('orders', { id: 'm-1', type: 't', body: '1', headers: {} });
    const topic = transport.topicName('orders');
    expect(await replication(topic)).toEqual({ replicas: [3], minInSync: '2', setOnTopic: true });
    expect(await replication(`${topic}.dlq`)).toEqual({ replicas: [3], minInSync: '2', setOnTopic: true });
  });

  test('replicationFactor and minInSyncReplicas choose otherwise', async () => {
    const transport = clusterTransport(cluster.brokers, `${prefix}explicit.`, logged, {
      replicationFactor: 2,
      minInSyncReplicas: 1,
    });
    transports.push(transport);
    await transport.send('orders', { id: 'm-2', type: 't', body: '2', headers: {} });
    expect(await replication(transport.topicName('orders'))).toEqual({
      replicas: [2],
      minInSync: '1',
      setOnTopic: true,
    });
  });

  test('replicationFactor -1 leaves it to the brokers, whose default here is 1 (an explicit choice)', async () => {
    const transport = clusterTransport(cluster.brokers, `${prefix}broker-default.`, logged, {
      replicationFactor: -1,
    });
    transports.push(transport);
    await transport.send('orders', { id: 'm-3', type: 't', body: '3', headers: {} });
    expect(await replication(transport.topicName('orders'))).toEqual({
      replicas: [1],
      minInSync: '1',
      setOnTopic: false,
    });
  });
});

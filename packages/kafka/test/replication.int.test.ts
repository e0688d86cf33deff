// On the single development broker the transport's default replication is what one broker can
// hold: one replica, and the broker's own min.insync.replicas (no topic override).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { kafka, removePrefix, requireKafka, testTransport, uniquePrefix } from './helpers';

const prefix = uniquePrefix();
beforeAll(requireKafka);
afterAll(() => removePrefix(prefix));

test('on a single broker, created topics get one replica and no min.insync.replicas override', async () => {
  const admin = kafka.admin();
  await admin.connect();
  const { brokers } = await admin.describeCluster();
  const transport = testTransport(prefix);
  try {
    await transport.send('orders', { id: 'm-1', type: 't', body: '1', headers: {} });
    const topic = transport.topicName('orders');
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic, `${topic}.dlq`] });
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }],
    });
    expect(brokers).toHaveLength(1);
    expect(topics.flatMap((t) => t.partitions.map((p) => p.replicas.length))).toEqual([1, 1, 1, 1]);
    // 1: DYNAMIC_TOPIC_CONFIG, a setting of the topic itself.
    expect(resources[0]!.configEntries[0]!.configSource).not.toBe(1);
  } finally {
    await transport.close();
    await admin.disconnect();
  }
});

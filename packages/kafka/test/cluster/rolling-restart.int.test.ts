// A rolling restart under load: while keyed events stream through a consumer group, each broker in
// turn is stopped (SIGTERM, a clean shutdown that hands its leaderships over), started again, and
// waited for until every partition is fully in sync before the next one goes. Every acknowledged
// send is handled; per-key order holds for everything handled once.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KafkaTransport } from '../../src/index';
import { KafkaCluster, reportFigures, waitUntil } from '../cluster';
import { uniquePrefix } from '../helpers';
import { clusterTransport, Handled, KeyedStream, rejoins, resends, seconds } from './stream';

const prefix = uniquePrefix();
let cluster: KafkaCluster;
const transports: KafkaTransport[] = [];
const logged: string[] = [];

beforeAll(async () => {
  cluster = await KafkaCluster.open();
});

afterAll(async () => {
  await Promise.allSettled(transports.map((t) => t.close()));
  await cluster?.restoreAll();
  await cluster?.removePrefix(prefix);
  await cluster?.close();
});

describe('rolling restart of a three-broker cluster', () => {
  test('each broker stopped and started in turn under load: 0 acknowledged sends lost', async () => {
    const producer = clusterTransport(cluster.brokers, prefix, logged);
    const workers = [0, 1].map(() => clusterTransport(cluster.brokers, prefix, logged));
    transports.push(producer, ...workers);
    const handled = new Handled();
    for (const worker of workers) {
      await worker.consume('events', handled.handler, { group: 'workers', concurrency: 8 });
    }
    const topic = producer.topicName('events');
    const stream = new KeyedStream(producer, 'events', { keys: 60, total: 1_000_000, perSecond: 500 });
    const streaming = stream.run();
    await stream.whenAcknowledged(500);

    const steps: string[] = [];
    const started = Date.now();
    for (const broker of cluster.brokerIds) {
      const stopMs = await cluster.stop(broker);
      const startMs = await cluster.start(broker);
      const syncMs = await cluster.waitFullyReplicated([topic, '__consumer_offsets']);
      steps.push(
        `broker ${broker}: stopped in ${seconds(stopMs)}, back in ${seconds(startMs)}, in sync ${seconds(syncMs)} later`,
      );
    }
    const restartedIn = Date.now() - started;
    stream.stop();
    await streaming;

    await waitUntil(
      'every acknowledged event to be handled',
      () => (handled.missing(stream.acknowledged).length === 0 ? true : undefined),
      120_000,
    ).catch(async (error: unknown) => {
      const missing = handled.missing(stream.acknowledged);
      throw new Error(
        `${(error as Error).message}: ${missing.length} of ${stream.acknowledged.size} missing ` +
          `(${missing.slice(0, 10).join(', ')}); ${await cluster.diagnose(topic, producer.groupId('events', 'workers'), missing)}\n` +
          `the transports logged:\n${logged.slice(-40).join('\n')}`,
      );
    });
    reportFigures(
      'rolling restart',
      `sent ${stream.issued}, acknowledged ${stream.acknowledged.size}, rejected ${stream.rejected.size}` +
        `${stream.rejected.size > 0 ? ` (${stream.firstRejection()})` : ''}; ` +
        `handled ${handled.unique} distinct, ${handled.duplicates} duplicate deliveries; three brokers ` +
        `restarted in ${seconds(restartedIn)} (${steps.join('; ')}); longest send ` +
        `${seconds(stream.maxSendMs)}, longest send-to-handled ${seconds(stream.maxEndToEndMs(handled))}; ` +
        `requests kafkajs cut short and the transport completed: ${resends(logged)}; consumers ` +
        `restarted after kafkajs gave up a rejoin: ${rejoins(logged)}`,
    );
    expect(stream.rejected.size).toBe(0);
    expect(handled.missing(stream.acknowledged)).toEqual([]);
    expect(handled.outOfOrderKeys()).toEqual([]);
  }, 300_000);
});

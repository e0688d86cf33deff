// While 10,000 keyed events stream through a consumer group of two, SIGKILL the broker that leads
// the most partitions of their topic. The stream goes on once the controller has moved those
// leaderships; every acknowledged send is handled, per-key order holds for everything handled
// once, and duplicates are counted and reported.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KafkaTransport } from '../../src/index';
import { KafkaCluster, reportFigures, waitUntil } from '../cluster';
import { uniquePrefix } from '../helpers';
import { clusterTransport, Handled, KeyedStream, rejoins, resends, seconds } from './stream';

const EVENTS = 10_000;
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

describe('leader failover on a three-broker cluster', () => {
  test('SIGKILL of the broker leading the most partitions: 0 acknowledged sends lost, per-key order kept', async () => {
    const producer = clusterTransport(cluster.brokers, prefix, logged);
    const workers = [0, 1].map(() => clusterTransport(cluster.brokers, prefix, logged));
    transports.push(producer, ...workers);
    const handled = new Handled();
    for (const worker of workers) {
      await worker.consume('events', handled.handler, { group: 'workers', concurrency: 8 });
    }
    const topic = producer.topicName('events');

    const stream = new KeyedStream(producer, 'events', { keys: 60, total: EVENTS, perSecond: 1_000 });
    const streaming = stream.run();
    await stream.whenAcknowledged(2_500);
    const victim = await cluster.leaderOfMostPartitions(topic);
    const coordinator = await cluster.coordinatorOf(producer.groupId('events', 'workers'));
    const killedAt = Date.now();
    await cluster.kill(victim.broker);
    const ackedBeforeKill = stream.acknowledged.size;
    const moved = await waitUntil(
      `the partitions of broker ${victim.broker} to get new leaders`,
      async () => {
        const partitions = await cluster.partitions(topic).catch(() => undefined);
        return partitions?.every((p) => p.leader !== victim.broker && p.leader >= 0)
          ? Date.now() - killedAt
          : undefined;
      },
    );

    await streaming;
    const sentAll = Date.now() - killedAt;
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
    const allHandled = Date.now() - killedAt;

    reportFigures(
      'leader failover',
      `sent ${stream.issued}, acknowledged ${stream.acknowledged.size}, rejected ${stream.rejected.size}` +
        `${stream.rejected.size > 0 ? ` (${stream.firstRejection()})` : ''}; ` +
        `handled ${handled.unique} distinct, ${handled.duplicates} duplicate deliveries; ` +
        `SIGKILL of broker ${victim.broker} (led ${victim.leads} of ${victim.of} partitions; the group's ` +
        `coordinator was broker ${coordinator}) after ` +
        `${ackedBeforeKill} acknowledgements; new leaders after ${seconds(moved)}; longest send ` +
        `${seconds(stream.maxSendMs)}, longest send-to-handled ${seconds(stream.maxEndToEndMs(handled))}; ` +
        `all sent ${seconds(sentAll)} and all handled ${seconds(allHandled)} after the kill; ` +
        `requests kafkajs cut short and the transport completed: ${resends(logged)}; consumers ` +
        `restarted after kafkajs gave up a rejoin: ${rejoins(logged)}`,
    );
    expect(stream.rejected.size).toBe(0);
    expect(stream.acknowledged.size).toBe(EVENTS);
    expect(handled.missing(stream.acknowledged)).toEqual([]);
    expect(handled.outOfOrderKeys()).toEqual([]);
  }, 300_000);
});

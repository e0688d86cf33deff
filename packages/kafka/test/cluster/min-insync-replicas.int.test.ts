// min.insync.replicas=2 (what the transport gives its topics on a three-broker cluster) with two
// brokers down: a send cannot be replicated enough, so a transport told to wait 5 s rejects it with
// NotEnoughReplicasError (not a hang), while one with the default wait keeps trying and resolves
// once a broker is back. Sends after the failure succeed again and nothing acknowledged is lost.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type KafkaTransport, NotEnoughReplicasError } from '../../src/index';
import { KafkaCluster, reportFigures, sleep, waitUntil } from '../cluster';
import { uniquePrefix } from '../helpers';
import { clusterTransport, Handled, seconds } from './stream';

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

const record = (i: number) => ({ id: `m-${i}`, type: 't', body: String(i), headers: {}, key: `k${i % 12}` });

describe('min.insync.replicas on a three-broker cluster', () => {
  test('with two brokers down a send fails with NotEnoughReplicasError, and succeeds once a broker is back', async () => {
    const patient = clusterTransport(cluster.brokers, prefix, logged);
    const impatient = clusterTransport(cluster.brokers, prefix, logged, { outageTimeoutMs: 5_000 });
    transports.push(patient, impatient);
    const handled = new Handled();
    await patient.consume('orders', handled.handler, { group: 'workers', concurrency: 4 });
    const topic = patient.topicName('orders');
    const acknowledged = new Set<string>();
    const send = async (transport: KafkaTransport, i: number) => {
      await transport.send('orders', record(i));
      acknowledged.add(`m-${i}`);
    };
    await Promise.all([send(patient, 0), send(impatient, 1)]);
    const [config] = (
      await (
        await cluster.admin()
      ).describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }],
      })
    ).resources;
    expect(config?.configEntries[0]?.configValue).toBe('2');

    const [survivor, ...down] = cluster.brokerIds;
    const killedAt = Date.now();
    await Promise.all(down.map((id) => cluster.kill(id)));
    // The controller fences both and shrinks every partition's in-sync replicas to the survivor.
    const fenced = await waitUntil('the partitions to be left with one in-sync replica', async () => {
      const partitions = await cluster.partitions(topic).catch(() => undefined);
      return partitions?.every((p) => p.leader === survivor && p.isr.length === 1)
        ? Date.now() - killedAt
        : undefined;
    });

    const failedAt = Date.now();
    const failure = await impatient.send('orders', record(2)).then(
      () => undefined,
      (error: unknown) => error,
    );
    const failedAfter = Date.now() - failedAt;
    expect(failure).toBeInstanceOf(NotEnoughReplicasError);
    expect(failure).toMatchObject({ code: 'NOT_ENOUGH_REPLICAS', retryable: true, operation: 'send' });
    expect((failure as NotEnoughReplicasError).waitedMs).toBeGreaterThanOrEqual(5_000);

    // The patient transport waits (default outageTimeoutMs, 60 s) rather than failing.
    const settled: number[] = [];
    const waiting = Array.from({ length: 20 }, (_, i) =>
      send(patient, 100 + i).then(() => void settled.push(i)),
    );
    await sleep(3_000);
    expect(settled).toEqual([]);

    const returning = down[0]!;
    const returnedAt = Date.now();
    const startMs = await cluster.start(returning);
    await Promise.all(waiting);
    const resolvedAfter = Date.now() - returnedAt;
    // The impatient transport (with a fresh producer after its failure) sends again.
    await Promise.all(Array.from({ length: 20 }, (_, i) => send(impatient, 200 + i)));

    await waitUntil('every acknowledged record to be handled', () =>
      handled.missing(acknowledged).length === 0 ? true : undefined,
    );
    reportFigures(
      'min insync replicas',
      `brokers ${down.join(' and ')} killed; partitions down to one in-sync replica after ` +
        `${seconds(fenced)}; a send with outageTimeoutMs 5 s rejected with ` +
        `${(failure as Error).name} after ${seconds(failedAfter)}; 20 sends of a transport with the ` +
        `default 60 s waited and resolved ${seconds(resolvedAfter)} after broker ${returning} was ` +
        `started (it served after ${seconds(startMs)}); ${acknowledged.size} acknowledged, ` +
        `${handled.unique} handled, ${handled.duplicates} duplicate deliveries; the rejected record ` +
        `${handled.count.has('m-2') ? 'was written after all and handled' : 'was not written'}`,
    );
    expect(handled.missing(acknowledged)).toEqual([]);
  }, 240_000);
});

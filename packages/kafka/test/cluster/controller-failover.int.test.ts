// SIGKILL the active controller (the leader of the KRaft metadata quorum). Another controller
// takes over; right after the kill a transport creates a new topic (through the admin, so the
// controller must answer) and a consumer group rebalances twice (a member joins, then one leaves),
// each within a bound.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KafkaTransport } from '../../src/index';
import { KafkaCluster, reportFigures, waitUntil } from '../cluster';
import { uniquePrefix } from '../helpers';
import { clusterTransport, seconds } from './stream';

/** The bound the issue asks for: topic creation and each rebalance, counted from the kill. */
const BOUND_MS = 30_000;
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

const record = (i: number) => ({ id: `m-${i}`, type: 't', body: String(i), headers: {}, key: `k${i}` });

describe('controller failover on a three-broker cluster', () => {
  test('after SIGKILL of the active controller, topic creation and group rebalances still work within 30 s', async () => {
    const first = clusterTransport(cluster.brokers, prefix, logged);
    const second = clusterTransport(cluster.brokers, prefix, logged);
    transports.push(first, second);
    const byFirst = new Set<string>();
    const bySecond = new Set<string>();
    const firstSubscription = await first.consume('orders', async (m) => void byFirst.add(m.id), {
      group: 'workers',
    });
    await first.send('orders', record(0));
    await waitUntil('the first record', () => (byFirst.has('m-0') ? true : undefined));

    const controller = await cluster.activeController();
    const killedAt = Date.now();
    await cluster.kill(controller);

    // A topic that does not exist yet: creating it needs the controller.
    const created = (async () => {
      await first.send('invoices', record(1));
      return Date.now() - killedAt;
    })();

    // A member joins: the group rebalances, and both members get records.
    const joined = (async () => {
      await second.consume('orders', async (m) => void bySecond.add(m.id), { group: 'workers' });
      for (let i = 100; ; i++) {
        await first.send('orders', record(i));
        if (bySecond.size > 0 && byFirst.size > 1) return Date.now() - killedAt;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const elected = await waitUntil('another controller to lead the quorum', async () => {
      const quorum = await cluster.quorum();
      return quorum && quorum.leaderId !== controller
        ? { id: quorum.leaderId, after: Date.now() - killedAt }
        : undefined;
    });
    const [createdAfter, joinedAfter] = await Promise.all([created, joined]);

    // A member leaves: the other one gets every partition and handles what follows.
    const leftAt = Date.now();
    await firstSubscription.close();
    const before = bySecond.size;
    const ids: string[] = [];
    for (let i = 1_000; i < 1_060; i++) {
      await first.send('orders', record(i));
      ids.push(`m-${i}`);
    }
    await waitUntil('the remaining member to handle everything sent after the other left', () =>
      ids.every((id) => bySecond.has(id)) ? true : undefined,
    );
    const leftAfter = Date.now() - killedAt;
    const takenOver = Date.now() - leftAt;

    const restartMs = await cluster.start(controller);
    const topics = await (await cluster.admin()).fetchTopicMetadata({
      topics: [first.topicName('invoices')],
    });
    const replicas = topics.topics[0]!.partitions.map((p) => p.replicas.length);
    reportFigures(
      'controller failover',
      `SIGKILL of active controller ${controller}; controller ${elected.id} elected after ` +
        `${seconds(elected.after)}; a new topic created and its first send acknowledged ` +
        `${seconds(createdAfter)} after the kill; a second member joined and both handled records ` +
        `${seconds(joinedAfter)} after it; then a member left and the other handled all 60 records ` +
        `sent after that within ${seconds(takenOver)} (${seconds(leftAfter)} after the kill; it had ` +
        `handled ${before} before); ` +
        `controller ${controller} back in the quorum after ${seconds(restartMs)}`,
    );
    expect(elected.id).not.toBe(controller);
    expect(createdAfter).toBeLessThan(BOUND_MS);
    expect(joinedAfter).toBeLessThan(BOUND_MS);
    expect(leftAfter).toBeLessThan(BOUND_MS);
    expect(replicas.every((n) => n === 3)).toBe(true);
  }, 180_000);
});

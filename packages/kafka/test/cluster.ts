// The three-broker cluster of the cluster tests (test/cluster/), as `node scripts/services.mjs up
// --kafka-cluster` started it: three brokers (ids 1-3) and three KRaft controllers (ids 101-103),
// each its own JVM, found through scripts/.state/kafka-cluster/state.json. A test kills (SIGKILL),
// stops (SIGTERM) and restarts single nodes, and puts the cluster back together when it is done.
// Restarted nodes run detached and are recorded in the state file, so `services.mjs down` stops them.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import {
  type ClusterNode,
  type ClusterState,
  nodeRunning,
  readClusterState,
  startNode,
  stopNode,
  tailOf,
  writeClusterState,
} from '../../../scripts/kafka/cluster.mjs';
import { activeQuorum, type Quorum } from '../../../scripts/kafka/quorum.mjs';

const defaultStateFile = resolve(import.meta.dirname, '../../../scripts/.state/kafka-cluster/state.json');
const figuresFile = resolve(import.meta.dirname, '../test-results/cluster-figures.log');

/** Prints a test's figures and keeps them in test-results/cluster-figures.log (run-tests prints that file). */
export function reportFigures(test: string, figures: string): void {
  const line = `[kafka cluster] ${test}: ${figures}`;
  console.info(line);
  mkdirSync(join(figuresFile, '..'), { recursive: true });
  appendFileSync(figuresFile, `${line}\n`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until it returns a value other than undefined; fails after `ms`. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = 90_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

export class KafkaCluster {
  /** A kafkajs client of the test's own, for admin questions (never the transport's). */
  readonly kafka: Kafka;
  #admin: Promise<Admin> | undefined;

  private constructor(
    private readonly stateFile: string,
    private state: ClusterState,
  ) {
    this.kafka = new Kafka({
      clientId: 'finaegis-cluster-tests',
      brokers: this.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
  }

  /**
   * The cluster services.mjs started, once every node runs and it serves. Fails (never skips) with
   * what to do when there is none.
   */
  static async open(): Promise<KafkaCluster> {
    const stateFile = process.env.FINAEGIS_KAFKA_CLUSTER_STATE || defaultStateFile;
    const state = readClusterState(stateFile);
    if (!state) {
      throw new Error(
        `no Kafka cluster: ${stateFile} does not exist. The cluster tests need the three-broker ` +
          'cluster of `node scripts/services.mjs up --kafka-cluster` (FINAEGIS_KAFKA_CLUSTER=1 pnpm test starts it).',
      );
    }
    const cluster = new KafkaCluster(stateFile, state);
    await cluster.restoreAll();
    return cluster;
  }

  /** The brokers' addresses. */
  get brokers(): string[] {
    return this.state.brokers.split(',');
  }

  node(id: number): ClusterNode {
    const node = this.state.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`the cluster has no node ${id}`);
    return node;
  }

  get brokerIds(): number[] {
    return this.state.nodes.filter((n) => n.role === 'broker').map((n) => n.id);
  }

  running(id: number): boolean {
    return nodeRunning(this.node(id));
  }

  admin(): Promise<Admin> {
    this.#admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })().catch((error: unknown) => {
      this.#admin = undefined;
      throw error;
    });
    return this.#admin;
  }

  /** SIGKILL: the node dies at once, without telling anyone. Resolves once its JVM is gone. */
  async kill(id: number): Promise<void> {
    await stopNode(this.node(id), 'SIGKILL');
  }

  /** SIGTERM: a clean shutdown (a broker hands its leaderships over first). Resolves with its ms. */
  stop(id: number): Promise<number> {
    return stopNode(this.node(id), 'SIGTERM', 30_000);
  }

  /**
   * Starts a node again on its ports and data and waits until it serves again: a broker registered
   * (unfenced, so its metadata caught up), a controller caught up with the quorum's log.
   * Resolves with how long that took, in ms.
   */
  async start(id: number): Promise<number> {
    const since = Date.now();
    const node = this.node(id);
    if (nodeRunning(node)) return 0;
    const before = await activeQuorum(this.state.controllers);
    node.pid = startNode(node);
    writeClusterState(this.stateFile, this.state);
    const failed = () => {
      if (!nodeRunning(node))
        throw new Error(`${node.role} ${id} exited after its start:\n${tailOf(node.log)}`);
    };
    if (node.role === 'broker') {
      await waitUntil(`broker ${id} to register again`, async () => {
        failed();
        return (await this.liveBrokers().catch((): number[] => [])).includes(id) ? true : undefined;
      });
    } else {
      await waitUntil(`controller ${id} to catch up with the quorum`, async () => {
        failed();
        const quorum = await activeQuorum(this.state.controllers);
        const self = quorum?.voters.find((v) => v.replicaId === id);
        return self && self.logEndOffset >= (before?.highWatermark ?? 0n) ? true : undefined;
      });
    }
    return Date.now() - since;
  }

  /** The brokers the controller has registered and not fenced. */
  async liveBrokers(): Promise<number[]> {
    const { brokers } = await (await this.admin()).describeCluster();
    return brokers.map((b) => b.nodeId).sort();
  }

  /** The metadata quorum as its leader sees it (undefined: no leader, e.g. two controllers down). */
  quorum(): Promise<Quorum | undefined> {
    return activeQuorum(this.state.controllers);
  }

  /** The id of the active controller (the leader of the metadata quorum). */
  async activeController(): Promise<number> {
    return waitUntil('a controller to lead the metadata quorum', async () => (await this.quorum())?.leaderId);
  }

  /** Per partition of `topic`: its leader, replicas and in-sync replicas. */
  async partitions(
    topic: string,
  ): Promise<{ partitionId: number; leader: number; replicas: number[]; isr: number[] }[]> {
    const { topics } = await (await this.admin()).fetchTopicMetadata({ topics: [topic] });
    return topics[0]!.partitions.map(({ partitionId, leader, replicas, isr }) => ({
      partitionId,
      leader,
      replicas,
      isr,
    }));
  }

  /** The broker leading the most partitions of `topic` (the lowest id on a tie), and how many it leads. */
  async leaderOfMostPartitions(topic: string): Promise<{ broker: number; leads: number; of: number }> {
    const partitions = await this.partitions(topic);
    const counts = new Map<number, number>();
    for (const p of partitions) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
    const [broker, leads] = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]!;
    return { broker, leads, of: partitions.length };
  }

  /** Waits until every partition of the topics has all its replicas in sync. Resolves with the ms it took. */
  async waitFullyReplicated(topics: readonly string[], ms = 90_000): Promise<number> {
    const since = Date.now();
    await waitUntil(
      `${topics.join(', ')} to be fully in sync`,
      async () => {
        for (const topic of topics) {
          const partitions = await this.partitions(topic).catch(() => undefined);
          if (!partitions || partitions.some((p) => p.isr.length < p.replicas.length)) return undefined;
        }
        return true;
      },
      ms,
    );
    return Date.now() - since;
  }

  /**
   * Starts every node that is not running, then waits until the cluster serves as it did at the
   * start: a quorum of three caught-up controllers, three registered brokers, and the consumer
   * offsets topic (if it exists yet) fully in sync.
   */
  async restoreAll(): Promise<void> {
    this.state = readClusterState(this.stateFile) ?? this.state;
    for (const node of this.state.nodes) {
      if (node.role === 'controller' && !nodeRunning(node)) await this.start(node.id);
    }
    for (const node of this.state.nodes) {
      if (node.role === 'broker' && !nodeRunning(node)) await this.start(node.id);
    }
    await waitUntil('a quorum of three controllers', async () => {
      const quorum = await this.quorum();
      return quorum && quorum.voters.length === 3 && quorum.voters.every((v) => v.logEndOffset >= 0n)
        ? true
        : undefined;
    });
    await waitUntil('three registered brokers', async () =>
      (await this.liveBrokers().catch((): number[] => [])).length === 3 ? true : undefined,
    );
    const topics = await (await this.admin()).listTopics();
    if (topics.includes('__consumer_offsets')) {
      await this.waitFullyReplicated(['__consumer_offsets']);
      // After a restart its leaderships go back to their preferred brokers within about 10 s
      // (the controllers' leader.imbalance.check.interval.seconds): group coordinators spread
      // over the brokers again, as in a fresh cluster.
      await waitUntil('the consumer offsets topic to be led by its preferred replicas', async () => {
        const partitions = await this.partitions('__consumer_offsets').catch(() => undefined);
        return partitions?.every((p) => p.leader === p.replicas[0]) ? true : undefined;
      });
    }
  }

  /**
   * The broker coordinating a consumer group: the leader of the consumer offsets partition the
   * group id hashes to (Java's String.hashCode, made non-negative, modulo the partition count).
   */
  async coordinatorOf(groupId: string): Promise<number> {
    let hash = 0;
    for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0;
    const partitions = await this.partitions('__consumer_offsets');
    const index = (hash === -2147483648 ? 0 : Math.abs(hash)) % partitions.length;
    return partitions.find((p) => p.partitionId === index)!.leader;
  }

  /**
   * Why events are missing, for a failure message: per partition the end offset and the group's
   * committed offset, and where in the topic the missing ids are (read with a consumer of its own),
   * which tells a record the log never got from one the group did not consume.
   */
  async diagnose(topic: string, groupId: string, missing: readonly string[]): Promise<string> {
    const admin = await this.admin();
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const lines = ends.map((end) => {
      const at = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '?';
      return `partition ${end.partition}: end ${end.high}, committed ${at}`;
    });
    const wanted = new Set(missing);
    const found: string[] = [];
    const consumer = this.kafka.consumer({ groupId: `${groupId}.diagnose-${Date.now()}` });
    const remaining = new Map(ends.map((e) => [e.partition, Number(e.high)]));
    for (const [partition, high] of remaining) if (high === 0) remaining.delete(partition);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((done) => {
      const timer = setTimeout(done, 30_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const id = message.headers?.['finaegis-id']?.toString();
          if (id && wanted.has(id)) found.push(`${id} at ${partition}/${message.offset}`);
          if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0)) remaining.delete(partition);
          if (remaining.size === 0) {
            clearTimeout(timer);
            done();
          }
        },
      });
    });
    await consumer.disconnect();
    return (
      `${lines.join('; ')}
of ${missing.length} missing, in the log: ${found.length} ` +
      `(${found.slice(0, 10).join(', ')})${remaining.size > 0 ? `; partitions not read to the end: ${[...remaining.keys()]}` : ''}`
    );
  }

  /**
   * Deletes the topics and consumer groups a test file created under its prefix (what cannot be
   * deleted stays: the cluster is thrown away after the run). A restart just before may have left
   * a group coordinator loading, so listing them is tried again for up to 30 s.
   */
  async removePrefix(prefix: string): Promise<void> {
    await waitUntil(
      `the topics and groups of ${prefix} to be deleted`,
      async () => {
        try {
          const admin = await this.admin();
          const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
          if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
          const { groups } = await admin.listGroups();
          const ids = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
          if (ids.length > 0) await admin.deleteGroups(ids).catch(() => {});
          return true;
        } catch {
          await sleep(1_000);
          return undefined;
        }
      },
      30_000,
    );
  }

  async close(): Promise<void> {
    if (this.#admin) await (await this.#admin.catch(() => undefined))?.disconnect().catch(() => {});
  }
}

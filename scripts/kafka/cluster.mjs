// A three-broker Kafka cluster on loopback for the cluster tests: three broker processes and three
// controller processes (the KRaft metadata quorum), all from the jars in scripts/kafka/lib.
//
// Why the controllers run in processes of their own: with three combined broker+controller nodes,
// two nodes down are also two of three controllers down, so the quorum is gone; nothing can then
// shrink a partition's in-sync replicas, and a send with acks=all times out instead of failing
// with NOT_ENOUGH_REPLICAS. Dedicated controllers keep the quorum up while brokers die, which is
// also how Kafka recommends running a cluster in production. Controllers are small (128 MB heap).
//
// Everything lives under <stateDir>/kafka-cluster/: one directory per node (server.properties,
// data, node.log) and state.json, which names each node's pid and command line so that services.mjs
// `down` and the tests (packages/kafka/test/cluster.ts, which kills and restarts nodes) find them.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { activeQuorum } from './quorum.mjs';

export const BROKER_IDS = [1, 2, 3];
export const CONTROLLER_IDS = [101, 102, 103];
const DEFAULT_BASE_PORT = 29092;
const READY_TIMEOUT_MS = 150_000;

const BROKER_JVM = ['-Xms64m', '-Xmx320m', '-XX:+UseSerialGC'];
const CONTROLLER_JVM = ['-Xms32m', '-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
const COMMON_JVM = [
  '-Djava.awt.headless=true',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
  '-Dorg.slf4j.simpleLogger.showDateTime=true',
];

/** The cluster's directory under a services state directory. */
export function clusterDir(stateDir) {
  return join(stateDir, 'kafka-cluster');
}

export function stateFileOf(stateDir) {
  return join(clusterDir(stateDir), 'state.json');
}

export function readClusterState(stateFile) {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Written to a temporary file and renamed: a reader never sees half a file. */
export function writeClusterState(stateFile, state) {
  mkdirSync(dirname(stateFile), { recursive: true });
  const temporary = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, stateFile);
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether the node's recorded pid still runs that node (its config path is on the command line). */
export function nodeRunning(node) {
  if (!node.pid || !isAlive(node.pid)) return false;
  try {
    return readFileSync(`/proc/${node.pid}/cmdline`, 'utf8').includes(node.config);
  } catch {
    return true;
  }
}

/** Starts a node's JVM detached (its own process group, output appended to its log); returns the pid. */
export function startNode(node) {
  const fd = openSync(node.log, 'a');
  writeFileSync(fd, `\n--- ${new Date().toISOString()} starting node ${node.id} (${node.role})\n`);
  const child = spawn('java', node.args, { cwd: node.dir, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  return child.pid;
}

/**
 * Ends a node's process group with `signal` and waits for it to exit; SIGTERM escalates to SIGKILL
 * after `graceMs`. Resolves with how long it took in ms (0 when it was not running).
 */
export async function stopNode(node, signal = 'SIGTERM', graceMs = 20_000) {
  if (!nodeRunning(node)) return 0;
  const since = Date.now();
  const send = (sig) => {
    try {
      process.kill(-node.pid, sig);
    } catch {
      try {
        process.kill(node.pid, sig);
      } catch {}
    }
  };
  send(signal);
  while (isAlive(node.pid)) {
    if (signal !== 'SIGKILL' && Date.now() - since > graceMs) send('SIGKILL');
    await sleep(50);
  }
  return Date.now() - since;
}

export function tailOf(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Fixed ports below the kernel's ephemeral range, so that a port a killed node leaves behind is not
 * handed to some client's outgoing connection before the node restarts on it. The first base
 * (from FINAEGIS_KAFKA_CLUSTER_PORT, default 29092) whose six ports are all free wins.
 */
async function choosePorts() {
  const first = Number(process.env.FINAEGIS_KAFKA_CLUSTER_PORT) || DEFAULT_BASE_PORT;
  for (let base = first; base < first + 500; base += 10) {
    const brokers = BROKER_IDS.map((_, i) => base + i);
    const controllers = CONTROLLER_IDS.map((_, i) => base + 100 + i);
    const free = await Promise.all([...brokers, ...controllers].map(portIsFree));
    if (free.every(Boolean)) return { brokers, controllers };
  }
  throw new Error(`no six free ports for the Kafka cluster from ${first} on`);
}

function properties(lines) {
  return `# Written by scripts/kafka/cluster.mjs for the cluster tests.\n${lines.join('\n')}\n`;
}

function controllerProperties({ id, port, voters, dataDir }) {
  return properties([
    'process.roles=controller',
    `node.id=${id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=CONTROLLER://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    // A broker that stops heartbeating (500 ms apart, below) is fenced after this long: its
    // partitions get new leaders and it leaves their in-sync replicas. Kafka's default is 9 s.
    'broker.session.timeout.ms=6000',
    // Leaderships go back to their preferred brokers 10 s after a restart (Kafka's default is
    // 300 s), so that each test starts from the same balanced cluster.
    'leader.imbalance.check.interval.seconds=10',
    'num.io.threads=2',
    'num.network.threads=2',
    'background.threads=2',
  ]);
}

function brokerProperties({ id, port, voters, dataDir, major }) {
  const lines = [
    'process.roles=broker',
    `node.id=${id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${port}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'broker.heartbeat.interval.ms=500',
    // Kafka's own defaults are kept for what a topic gets when its creator says nothing
    // (default.replication.factor=1, min.insync.replicas=1): the tests prove that the transport
    // asks for replication itself. Nothing is created behind its back either.
    'auto.create.topics.enable=false',
    // The internal topics are replicated like production ones.
    'offsets.topic.replication.factor=3',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=3',
    'transaction.state.log.min.isr=2',
    'transaction.state.log.num.partitions=3',
    'group.initial.rebalance.delay.ms=0',
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'log.cleaner.threads=1',
  ];
  if (major >= 4) {
    lines.push(
      'share.coordinator.state.topic.replication.factor=3',
      'share.coordinator.state.topic.min.isr=2',
    );
  }
  return properties(lines);
}

/** The six nodes of a fresh cluster: directories, configs and command lines. */
function layout({ dir, lib, version, ports }) {
  const major = Number(version.split('.')[0]);
  const voters = CONTROLLER_IDS.map((id, i) => `${id}@127.0.0.1:${ports.controllers[i]}`).join(',');
  const node = (role, id, port, text) => {
    const nodeDir = join(dir, `${role}-${id}`);
    const config = join(nodeDir, 'server.properties');
    const jvm = role === 'broker' ? BROKER_JVM : CONTROLLER_JVM;
    return {
      id,
      role,
      address: `127.0.0.1:${port}`,
      dir: nodeDir,
      config,
      log: join(nodeDir, 'node.log'),
      text: text({ id, port, voters, dataDir: join(nodeDir, 'data'), major }),
      args: [...jvm, ...COMMON_JVM, '-cp', `${lib}/*`, 'kafka.Kafka', config],
      formatArgs: [...CONTROLLER_JVM, ...COMMON_JVM, '-cp', `${lib}/*`, 'kafka.tools.StorageTool'],
      pid: 0,
    };
  };
  return [
    ...CONTROLLER_IDS.map((id, i) => node('controller', id, ports.controllers[i], controllerProperties)),
    ...BROKER_IDS.map((id, i) => node('broker', id, ports.brokers[i], brokerProperties)),
  ];
}

function run(args, cwd) {
  return new Promise((resolve) => {
    const child = spawn('java', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => resolve({ status, output }));
  });
}

function kafkaClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * What "the cluster serves" means: a controller leads the quorum and every voter has fetched from
 * it, all three brokers are registered and unfenced, and `ready(brokers)` (a topic with replication
 * factor 3 created, a record produced with acks=all and consumed through a consumer group) passed.
 * Returns undefined when it does, else what is missing.
 */
async function missing(state, ready) {
  const dead = state.nodes.filter((n) => !nodeRunning(n));
  if (dead.length > 0) return `not running: ${dead.map((n) => `${n.role} ${n.id}`).join(', ')}`;
  const quorum = await activeQuorum(state.controllers);
  if (!quorum) return 'no controller leads the metadata quorum';
  const lagging = quorum.voters.filter((v) => v.logEndOffset < 0n).map((v) => v.replicaId);
  if (quorum.voters.length !== CONTROLLER_IDS.length || lagging.length > 0) {
    return `quorum voters not caught up: ${lagging.join(', ') || quorum.voters.length}`;
  }
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const admin = new Kafka({
    clientId: 'finaegis-services',
    brokers: state.brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    if (brokers.length !== BROKER_IDS.length) return `${brokers.length} of 3 brokers registered`;
  } catch (error) {
    return `the brokers do not answer (${error.message})`;
  } finally {
    await admin.disconnect().catch(() => {});
  }
  try {
    await ready(state.brokers);
  } catch (error) {
    return `not usable yet: ${error.message}`;
  }
  return undefined;
}

async function waitServing(state, ready, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = await missing(state, ready);
    if (why === undefined) return;
    const dead = state.nodes.find((n) => !nodeRunning(n));
    if (dead || Date.now() > deadline) {
      const node = dead ?? state.nodes.find((n) => n.role === 'broker');
      throw new Error(
        `the Kafka cluster does not serve (${why}); log of ${node.role} ${node.id} (${node.log}):\n${tailOf(node.log)}`,
      );
    }
    await sleep(500);
  }
}

/** Stops every node of the cluster (brokers first, so that they can hand over), then removes its directory. */
export async function downCluster(stateDir) {
  const stateFile = stateFileOf(stateDir);
  const state = readClusterState(stateFile);
  let stopped = 0;
  if (state) {
    for (const role of ['broker', 'controller']) {
      const nodes = state.nodes.filter((n) => n.role === role && nodeRunning(n));
      await Promise.all(nodes.map((n) => stopNode(n, 'SIGTERM', 15_000)));
      stopped += nodes.length;
    }
  }
  rmSync(clusterDir(stateDir), { recursive: true, force: true });
  return stopped;
}

/**
 * Reuses the cluster these scripts started if it still serves (restarting nodes a test left
 * stopped), else starts a fresh one and waits until it serves. `ready(brokers)` is the usability
 * check of one broker list (services.mjs passes its own, with replication factor 3).
 * Resolves with `{ brokers, stateFile, action, detail, started }`.
 */
export async function upCluster({ stateDir, lib, version, ready }) {
  const since = Date.now();
  const dir = clusterDir(stateDir);
  const stateFile = stateFileOf(stateDir);
  const previous = readClusterState(stateFile);
  if (previous && previous.version === version && previous.nodes.some(nodeRunning)) {
    const restarted = [];
    for (const node of previous.nodes) {
      if (nodeRunning(node)) continue;
      node.pid = startNode(node);
      restarted.push(`${node.role} ${node.id}`);
    }
    writeClusterState(stateFile, previous);
    try {
      await waitServing(previous, ready, READY_TIMEOUT_MS);
      return {
        brokers: previous.brokers,
        stateFile,
        action: restarted.length > 0 ? 'repaired' : 'reused',
        detail: restarted.length > 0 ? `restarted ${restarted.join(', ')}` : 'started earlier',
        started: false,
      };
    } catch {
      // Not usable: start afresh below.
    }
  }
  await downCluster(stateDir);
  mkdirSync(dir, { recursive: true });
  const ports = await choosePorts();
  const nodes = layout({ dir, lib, version, ports });
  const clusterId = kafkaClusterId();
  await Promise.all(
    nodes.map(async (node) => {
      mkdirSync(node.dir, { recursive: true });
      writeFileSync(node.config, node.text);
      const format = await run([...node.formatArgs, 'format', '-t', clusterId, '-c', node.config], node.dir);
      if (format.status !== 0) {
        throw new Error(
          `formatting the storage of ${node.role} ${node.id} failed:\n${format.output.trim().split('\n').slice(-10).join('\n')}`,
        );
      }
    }),
  );
  for (const node of nodes) {
    delete node.text;
    delete node.formatArgs;
    node.pid = startNode(node);
  }
  const state = {
    version,
    clusterId,
    brokers: nodes
      .filter((n) => n.role === 'broker')
      .map((n) => n.address)
      .join(','),
    controllers: nodes.filter((n) => n.role === 'controller').map((n) => n.address),
    nodes,
  };
  writeClusterState(stateFile, state);
  await waitServing(state, ready, READY_TIMEOUT_MS);
  return {
    brokers: state.brokers,
    stateFile,
    action: 'started',
    detail: `3 brokers + 3 controllers, ready in ${((Date.now() - since) / 1000).toFixed(1)} s`,
    started: true,
  };
}

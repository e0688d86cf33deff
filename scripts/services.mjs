#!/usr/bin/env node
// Gives a test run a working Redis, Kafka and PostgreSQL on loopback, without Docker.
//
//   node scripts/services.mjs up   [--env-out <path>] [--kafka-cluster]
//                                  reuse what answers, start what is missing
//   node scripts/services.mjs down [--kafka-cluster]    stop only what these scripts started
//
// `up` writes `{ env: { REDIS_URL, KAFKA_BROKERS, DATABASE_URL }, startedByThisRun }` to the env
// file (default scripts/.state/env.json). Everything it starts lives under scripts/.state/ and runs
// detached, so the caller may exit and a later `down` stops it. See scripts/TESTING.md.
//
// `--kafka-cluster` (or FINAEGIS_KAFKA_CLUSTER=1) also brings up a three-broker Kafka cluster for
// the cluster tests (scripts/kafka/cluster.mjs), adding FINAEGIS_KAFKA_CLUSTER_BROKERS and
// FINAEGIS_KAFKA_CLUSTER_STATE to the env and `clusterStartedByThisRun`; the single broker stays
// what every other test uses. `down --kafka-cluster` stops only the cluster; `down` stops it too.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters } from 'node:util';
import { downCluster, upCluster } from './kafka/cluster.mjs';

const scriptsDir = import.meta.dirname;
const stateDir = join(scriptsDir, '.state');
const kafkaDir = join(scriptsDir, 'kafka');
const defaultEnvFile = join(stateDir, 'env.json');

const DEFAULTS = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  KAFKA_BROKERS: '127.0.0.1:9092',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
};
const KAFKA_READY_TIMEOUT_MS = 90_000;
const inCi = /^(1|true|yes)$/i.test(process.env.CI ?? '');
const clusterWanted = /^(1|true|yes)$/i.test(process.env.FINAEGIS_KAFKA_CLUSTER ?? '');

// ---------------------------------------------------------------------------------------------
// small helpers

const log = (message) => console.log(`[services] ${message}`);
const ms = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

class ServiceError extends Error {
  constructor(service, message) {
    super(message);
    this.service = service;
  }
}

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const options = { command, envFile: defaultEnvFile, kafkaCluster: clusterWanted, clusterFlag: false };
  for (let i = 0; i < rest.length; i += 1) {
    const [flag, inline] = rest[i].split(/=(.*)/s, 2);
    // Node 20 itself reads `--env-file` anywhere on its command line (and exits 9 when the file is
    // missing), so callers on Node 20 should prefer `--env-out`; both are accepted.
    if (flag === '--env-out' || flag === '--env-file') options.envFile = inline ?? rest[++i];
    else if (flag === '--kafka-cluster') options.kafkaCluster = options.clusterFlag = true;
    else if (flag !== '--') throw new Error(`unknown argument ${rest[i]}`);
  }
  return options;
}

function skippedServices() {
  const list = (process.env.FINAEGIS_SKIP_SERVICES ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (list.length > 0 && inCi) {
    log(`FINAEGIS_SKIP_SERVICES=${list.join(',')} is ignored in CI: every service is required there`);
    return new Set();
  }
  return new Set(list);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function commandExists(command, args = ['--version']) {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return !result.error;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pid from our state is only ours if the process still runs the program we started. */
function ownsPid(pid, marker) {
  if (!pid || !isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    // No /proc (macOS): trust the pid file.
    return true;
  }
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function writeJson(file, value) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function tail(file, lines = 25) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts a program in its own process group, detached from ours, its output in a log file. */
function startDetached(command, args, logFile, cwd) {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  return child;
}

/** Several test runs may call `up` at once (one per developer shell, CI steps): serialise them. */
async function withLock(fn) {
  mkdirSync(stateDir, { recursive: true });
  const lockDir = join(stateDir, 'lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(join(lockDir, 'pid'), 'utf8').trim() || 0);
      const age = Date.now() - statSync(lockDir).mtimeMs;
      if ((holder && !isAlive(holder)) || (!holder && age > 5_000)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another services.mjs (pid ${holder}) holds ${lockDir}`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Redis

async function redisAnswers(url) {
  const { default: Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function upRedis() {
  const url = process.env.REDIS_URL || DEFAULTS.REDIS_URL;
  if (await redisAnswers(url)) return { env: url, action: 'reused', where: url };

  const state = readJson(join(stateDir, 'redis', 'state.json'));
  if (state && ownsPid(state.pid, 'redis-server') && (await redisAnswers(state.url))) {
    return { env: state.url, action: 'reused', where: `${state.url} (pid ${state.pid}, started earlier)` };
  }
  if (!commandExists('redis-server')) {
    throw new ServiceError(
      'redis',
      `nothing answers PING at ${url} and redis-server is not installed: ` +
        'install it (`apt-get install redis-server`) or set REDIS_URL to a running Redis',
    );
  }
  const dir = join(stateDir, 'redis');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child = startDetached(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no'],
    join(dir, 'redis.log'),
    dir,
  );
  const started = `redis://127.0.0.1:${port}`;
  writeJson(join(dir, 'state.json'), { pid: child.pid, url: started, port });
  const deadline = Date.now() + 15_000;
  while (!(await redisAnswers(started))) {
    if (!isAlive(child.pid) || Date.now() > deadline) {
      throw new ServiceError(
        'redis',
        `redis-server did not answer on ${started}:\n${tail(join(dir, 'redis.log'))}`,
      );
    }
    await sleep(100);
  }
  return { env: started, action: 'started', where: `${started} (pid ${child.pid})`, started: true };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

function pgStartHint() {
  let versions = [];
  try {
    versions = readdirSync('/etc/postgresql');
  } catch {}
  if (versions.length > 0) {
    return `start it with \`pg_ctlcluster --skip-systemctl-redirect ${versions.at(-1)} main start\``;
  }
  return 'install and start PostgreSQL (`apt-get install postgresql`, then `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`)';
}

async function upPostgres() {
  const url = process.env.DATABASE_URL || DEFAULTS.DATABASE_URL;
  const { default: pg } = await import('pg');
  const tryQuery = async (connectionString) => {
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (error) {
      return error;
    } finally {
      await client.end().catch(() => {});
    }
  };
  const error = await tryQuery(url);
  if (!error) return { env: url, action: 'reused', where: redactUrl(url) };

  // 3D000: the server runs but the database does not exist yet (a fresh cluster): create it.
  if (error.code === '3D000') {
    const target = new URL(url);
    const database = decodeURIComponent(target.pathname.slice(1));
    const admin = new URL(url);
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query(`create database "${database.replaceAll('"', '""')}"`);
    } catch (createError) {
      throw new ServiceError(
        'postgres',
        `database "${database}" does not exist at ${redactUrl(url)} and could not be created: ${createError.message}`,
      );
    } finally {
      await client.end().catch(() => {});
    }
    return { env: url, action: 'reused', where: `${redactUrl(url)} (created database ${database})` };
  }
  throw new ServiceError(
    'postgres',
    `PostgreSQL does not answer at ${redactUrl(url)} (${error.code ?? error.message}); ` +
      `${pgStartHint()}, or set DATABASE_URL to a running server`,
  );
}

function redactUrl(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

// ---------------------------------------------------------------------------------------------
// Kafka

function kafkaVersion() {
  if (process.env.FINAEGIS_KAFKA_VERSION) return process.env.FINAEGIS_KAFKA_VERSION;
  const pom = readFileSync(join(kafkaDir, 'pom.xml'), 'utf8');
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!match) throw new Error('scripts/kafka/pom.xml has no <kafka.version>');
  return match[1].trim();
}

/** The broker's jars, fetched once per version into scripts/kafka/lib/<version>/. */
function ensureKafkaJars(version) {
  const lib = join(kafkaDir, 'lib', version);
  const marker = join(lib, '.complete');
  if (existsSync(marker)) return { lib, downloaded: false };
  if (!commandExists('java', ['-version'])) {
    throw new ServiceError(
      'kafka',
      'java is not installed (the broker needs Java 17+): `apt-get install openjdk-17-jre-headless`',
    );
  }
  if (!commandExists('mvn', ['-v'])) {
    throw new ServiceError(
      'kafka',
      'mvn is not installed (it fetches the broker once): `apt-get install maven`',
    );
  }
  const since = performance.now();
  log(`kafka    fetching the Apache Kafka ${version} broker with Maven (once; kept in scripts/kafka/lib)`);
  rmSync(lib, { recursive: true, force: true });
  const result = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-Dstyle.color=never',
      '-f',
      join(kafkaDir, 'pom.xml'),
      'dependency:copy-dependencies',
      `-Dkafka.version=${version}`,
      '-DincludeScope=runtime',
      `-DoutputDirectory=${lib}`,
    ],
    { encoding: 'utf8' },
  );
  // Maven's launcher prints colour resets even when quiet; keep only real text.
  const output = stripVTControlCharacters(`${result.stdout ?? ''}${result.stderr ?? ''}`).trim();
  if (result.status !== 0) {
    throw new ServiceError(
      'kafka',
      `mvn could not fetch the Kafka ${version} broker (exit ${result.status}):\n${output.split('\n').slice(-30).join('\n')}`,
    );
  }
  if (output) console.log(output);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  log(`kafka    fetched in ${ms(since)}`);
  return { lib, downloaded: true };
}

/** Kafka's cluster ids are 16 random bytes in URL-safe base64; Kafka avoids ids starting with '-'. */
function kafkaClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function brokerProperties({ version, port, controllerPort, dataDir }) {
  const major = Number(version.split('.')[0]);
  const lines = [
    '# Written by scripts/services.mjs: one KRaft node acting as broker and controller, for tests.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'auto.create.topics.enable=true',
    'num.partitions=1',
    'default.replication.factor=1',
    // A single node cannot host the default three replicas of the internal topics.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // Fewer internal partitions: faster first group join and less to load on a small machine.
    'offsets.topic.num.partitions=8',
    'transaction.state.log.num.partitions=4',
    // Tests join groups constantly; the default 3 s wait for more members only slows them.
    'group.initial.rebalance.delay.ms=0',
    'num.network.threads=2',
    'num.io.threads=4',
    'background.threads=4',
    'log.cleaner.threads=1',
  ];
  if (major >= 4) {
    lines.push(
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
    );
  }
  return `${lines.join('\n')}\n`;
}

async function kafkaClient(brokers) {
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  return new Kafka({
    clientId: 'finaegis-services',
    brokers: brokers.split(',').map((b) => b.trim()),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  });
}

/** Whether something speaking Kafka answers at `brokers` (metadata request). */
async function kafkaAnswers(brokers) {
  const admin = (await kafkaClient(brokers)).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Ready means usable by the tests: an admin created a topic, and a consumer group joined and
 * consumed a message produced to it. A broker that answers metadata can still be loading its
 * coordinators, hence the retries.
 */
async function kafkaReady(brokers, timeoutMs, replicationFactor = 1) {
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const kafka = new Kafka({
    clientId: 'finaegis-services-ready',
    brokers: brokers.split(',').map((b) => b.trim()),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const topic = `finaegis-ready-${Date.now()}-${randomBytes(3).toString('hex')}`;
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  const consumer = kafka.consumer({
    groupId: topic,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  const check = async () => {
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor }],
      waitForLeaders: true,
    });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'ready', value: topic }] });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received = new Promise((resolve) => {
      consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString()) });
    });
    if ((await received) !== topic) throw new Error('the readiness consumer read something else');
  };
  try {
    await Promise.race([check(), timeout]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.deleteTopics({ topics: [topic], timeout: 5_000 }).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

async function upKafka() {
  const brokers = process.env.KAFKA_BROKERS || DEFAULTS.KAFKA_BROKERS;
  const state = readJson(join(stateDir, 'kafka', 'state.json'));
  const ours = state && ownsPid(state.pid, 'kafka.Kafka') ? state : undefined;

  if (await kafkaAnswers(brokers)) {
    await kafkaReady(brokers, 30_000).catch((error) => {
      throw new ServiceError('kafka', `a broker answers at ${brokers} but is not usable: ${error.message}`);
    });
    const origin = ours && ours.brokers === brokers ? ` (pid ${ours.pid}, started earlier)` : '';
    return { env: brokers, action: 'reused', where: `${brokers}${origin}` };
  }
  if (ours && (await kafkaAnswers(ours.brokers))) {
    await kafkaReady(ours.brokers, 30_000);
    return {
      env: ours.brokers,
      action: 'reused',
      where: `${ours.brokers} (pid ${ours.pid}, started earlier)`,
    };
  }
  if (ours) stopProcessGroup(ours.pid, 'kafka', 'kafka.Kafka');

  const since = performance.now();
  const version = kafkaVersion();
  const { lib } = ensureKafkaJars(version);
  const dir = join(stateDir, 'kafka');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const wantedPort = Number(brokers.split(',')[0].split(':').at(-1)) || 9092;
  const port = (await portIsFree(wantedPort)) ? wantedPort : await freePort();
  const controllerPort = await freePort();
  const dataDir = join(dir, 'data');
  const config = join(dir, 'server.properties');
  writeFileSync(config, brokerProperties({ version, port, controllerPort, dataDir }));
  const classPath = `${lib}/*`;
  const logFile = join(dir, 'broker.log');
  const jvm = ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-Djava.awt.headless=true'];
  const slf4j = [
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-Dorg.slf4j.simpleLogger.showDateTime=true',
  ];

  const format = spawnSync(
    'java',
    [
      ...jvm,
      ...slf4j,
      '-cp',
      classPath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      kafkaClusterId(),
      '-c',
      config,
    ],
    { encoding: 'utf8' },
  );
  if (format.status !== 0) {
    throw new ServiceError(
      'kafka',
      `formatting the broker's storage failed:\n${(format.stderr || format.stdout || '').trim().split('\n').slice(-15).join('\n')}`,
    );
  }
  const child = startDetached(
    'java',
    [...jvm, ...slf4j, '-cp', classPath, 'kafka.Kafka', config],
    logFile,
    dir,
  );
  const started = `127.0.0.1:${port}`;
  writeJson(join(dir, 'state.json'), { pid: child.pid, brokers: started, port, controllerPort, version });

  const deadline = Date.now() + KAFKA_READY_TIMEOUT_MS;
  while (!(await kafkaAnswers(started))) {
    if (!isAlive(child.pid)) {
      throw new ServiceError(
        'kafka',
        `the broker exited during start-up; its log (${logFile}):\n${tail(logFile)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new ServiceError(
        'kafka',
        `the broker did not answer on ${started}; its log (${logFile}):\n${tail(logFile)}`,
      );
    }
    await sleep(200);
  }
  try {
    await kafkaReady(started, Math.max(5_000, deadline - Date.now()));
  } catch (error) {
    throw new ServiceError(
      'kafka',
      `the broker on ${started} is not usable: ${error.message}\n${tail(logFile)}`,
    );
  }
  return {
    env: started,
    action: 'started',
    where: `${started} (Kafka ${version}, pid ${child.pid}, ready in ${ms(since)})`,
    started: true,
  };
}

/**
 * The three-broker cluster of the cluster tests (scripts/kafka/cluster.mjs). Never an external
 * one: the tests kill and restart its nodes, so they must be processes these scripts started.
 */
async function upKafkaCluster() {
  const version = kafkaVersion();
  const { lib } = ensureKafkaJars(version);
  const result = await upCluster({
    stateDir,
    lib,
    version,
    ready: (brokers) => kafkaReady(brokers, 30_000, 3),
  }).catch((error) => {
    throw new ServiceError('kafka-cluster', error.message);
  });
  return {
    env: {
      FINAEGIS_KAFKA_CLUSTER_BROKERS: result.brokers,
      FINAEGIS_KAFKA_CLUSTER_STATE: result.stateFile,
    },
    action: result.action,
    where: `${result.brokers} (Kafka ${version}, ${result.detail})`,
    started: result.started,
  };
}

// ---------------------------------------------------------------------------------------------
// commands

const SERVICES = [
  { name: 'redis', envKey: 'REDIS_URL', up: upRedis },
  { name: 'kafka', envKey: 'KAFKA_BROKERS', up: upKafka },
  { name: 'postgres', envKey: 'DATABASE_URL', up: upPostgres },
];
const CLUSTER = { name: 'kafka-cluster', up: upKafkaCluster };

async function up(options) {
  const since = performance.now();
  const skipped = skippedServices();
  const env = {};
  let startedByThisRun = false;
  let clusterStartedByThisRun = false;
  const failures = [];
  const services = options.kafkaCluster ? [...SERVICES, CLUSTER] : SERVICES;
  await withLock(async () => {
    for (const service of services) {
      if (skipped.has(service.name) || (service === CLUSTER && skipped.has('kafka'))) {
        log(`${service.name.padEnd(8)} skipped (FINAEGIS_SKIP_SERVICES): its tests will fail, not skip`);
        continue;
      }
      const t0 = performance.now();
      try {
        const result = await service.up();
        if (service.envKey) env[service.envKey] = result.env;
        else Object.assign(env, result.env);
        if (service === CLUSTER) clusterStartedByThisRun = Boolean(result.started);
        else startedByThisRun ||= Boolean(result.started);
        log(`${service.name.padEnd(8)} ${result.action.padEnd(7)} ${result.where} [${ms(t0)}]`);
      } catch (error) {
        const message = error instanceof ServiceError ? error.message : (error.stack ?? String(error));
        failures.push(service.name);
        console.error(`[services] ${service.name.padEnd(8)} MISSING: ${message}`);
      }
    }
  });
  writeJson(options.envFile, { env, startedByThisRun, clusterStartedByThisRun });
  if (failures.length > 0) {
    const optOut = inCi
      ? 'CI requires every service.'
      : `To run without one locally: FINAEGIS_SKIP_SERVICES=${failures.join(',')} (its tests will then fail).`;
    console.error(`[services] not ready: ${failures.join(', ')}. ${optOut}`);
    return 1;
  }
  log(`ready in ${ms(since)}; env written to ${options.envFile}`);
  return 0;
}

function stopProcessGroup(pid, name, marker) {
  if (!ownsPid(pid, marker)) return false;
  const since = performance.now();
  const signal = (sig) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {}
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + 30_000;
  while (isAlive(pid) && Date.now() < deadline) spawnSync('sleep', ['0.1']);
  if (isAlive(pid)) signal('SIGKILL');
  log(`${name.padEnd(8)} stopped (pid ${pid}) [${ms(since)}]`);
  return true;
}

/** `down --kafka-cluster`: only the cluster; `down`: everything, the cluster included. */
async function down(options) {
  let stopped = 0;
  await withLock(async () => {
    const since = performance.now();
    const clusterNodes = await downCluster(stateDir);
    if (clusterNodes > 0) log(`kafka-cluster stopped (${clusterNodes} nodes) [${ms(since)}]`);
    stopped += clusterNodes;
    if (options.clusterFlag) return;
    for (const [name, marker] of [
      ['kafka', 'kafka.Kafka'],
      ['redis', 'redis-server'],
    ]) {
      const dir = join(stateDir, name);
      const state = readJson(join(dir, 'state.json'));
      if (state && stopProcessGroup(state.pid, name, marker)) stopped += 1;
      rmSync(dir, { recursive: true, force: true });
    }
    // Kept (emptied) rather than deleted: on Node 20 `node services.mjs up --env-file <it>` fails
    // before this script runs when the file is missing.
    writeJson(defaultEnvFile, { env: {}, startedByThisRun: false });
  });
  if (stopped === 0) log('nothing to stop: these scripts started no service that still runs');
  return 0;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.command === 'up') return up(options);
  if (options.command === 'down') return down(options);
  console.error(
    'usage: node scripts/services.mjs up [--env-out <path>] [--kafka-cluster] | down [--kafka-cluster]',
  );
  return 2;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[services] ${error.stack ?? error}`);
    process.exit(1);
  },
);

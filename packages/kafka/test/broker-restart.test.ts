// Stops and restarts a broker of the test's own (same data, same ports) while a consumer and a
// producer use it: sends made while it is down complete once it is back, and nothing is lost.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, test } from 'vitest';
import { createKafkaTransport, type KafkaTransport } from '../src/index';

const scriptsKafka = resolve(import.meta.dirname, '../../../scripts/kafka');
const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(
  readFileSync(join(scriptsKafka, 'pom.xml'), 'utf8'),
)![1]!;
const lib = join(scriptsKafka, 'lib', version);
const dir = mkdtempSync(join(tmpdir(), 'finaegis-kafka-restart-'));
let broker: ChildProcess | undefined;
let transport: KafkaTransport | undefined;

afterAll(async () => {
  await transport?.close();
  await stopBroker();
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

const java = (mainClass: string, args: string[]) => [
  '-Xms128m',
  '-Xmx384m',
  '-XX:+UseSerialGC',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
  '-cp',
  `${lib}/*`,
  mainClass,
  ...args,
];

async function answers(brokers: string): Promise<boolean> {
  const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
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

async function startBroker(config: string, brokers: string): Promise<void> {
  broker = spawn('java', java('kafka.Kafka', [config]), { stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  while (!(await answers(brokers))) {
    if (broker.exitCode !== null || Date.now() > deadline) throw new Error('the test broker did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopBroker(): Promise<void> {
  const child = broker;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('broker restart', () => {
  test('sends made while the broker is down complete after it is back, and every message is handled', async () => {
    if (!existsSync(join(lib, '.complete'))) {
      // The shared broker may be an external one, so the jars may not have been fetched yet.
      const fetch = spawnSync(
        'mvn',
        [
          '-q',
          '-B',
          '-f',
          join(scriptsKafka, 'pom.xml'),
          'dependency:copy-dependencies',
          '-DincludeScope=runtime',
          `-DoutputDirectory=${lib}`,
        ],
        { stdio: 'inherit' },
      );
      if (fetch.status !== 0)
        throw new Error(`could not fetch the Kafka ${version} broker jars into ${lib} with mvn`);
      writeFileSync(join(lib, '.complete'), `${new Date().toISOString()}\n`);
    }
    const [port, controllerPort] = [await freePort(), await freePort()];
    const brokers = `127.0.0.1:${port}`;
    const config = join(dir, 'server.properties');
    writeFileSync(
      config,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=PLAINTEXT://${brokers},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://${brokers}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        `log.dirs=${join(dir, 'data')}`,
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=2',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        '',
      ].join('\n'),
    );
    const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
    const format = spawnSync(
      'java',
      java('kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', config]),
    );
    expect(format.status).toBe(0);
    await startBroker(config, brokers);

    transport = createKafkaTransport({
      brokers,
      partitions: 2,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      rebalanceTimeoutMs: 8_000,
    });
    const handled = new Set<string>();
    let deliveries = 0;
    await transport.consume(
      'orders',
      async (m) => {
        deliveries++;
        handled.add(m.id);
      },
      { group: 'workers', concurrency: 4 },
    );
    const send = (i: number) =>
      transport!.send('orders', { id: `m-${i}`, type: 't', body: String(i), headers: {}, key: `k${i % 7}` });
    await Promise.all(Array.from({ length: 100 }, (_, i) => send(i)));
    const waitAll = async (n: number) => {
      for (const deadline = Date.now() + 90_000; handled.size < n; ) {
        if (Date.now() > deadline) throw new Error(`only ${handled.size} of ${n} handled`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await waitAll(100);

    await stopBroker();
    let sentWhileDown = false;
    const later = Promise.all(Array.from({ length: 100 }, (_, i) => send(100 + i))).then(() => {
      sentWhileDown = true;
    });
    await new Promise((r) => setTimeout(r, 2_000));
    expect(sentWhileDown).toBe(false);
    await startBroker(config, brokers);
    await later;
    await waitAll(200);
    console.info(`[broker-restart] 200 messages handled, ${deliveries - handled.size} duplicate deliveries`);
    expect([...handled].sort()).toEqual(Array.from({ length: 200 }, (_, i) => `m-${i}`).sort());
  }, 180_000);
});

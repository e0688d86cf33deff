// A single-node Kafka broker of the test's own (its own ports, data and JVM), for tests that stop
// and restart it. The shared broker from `pnpm services:up` is never stopped by a test.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

const scriptsKafka = resolve(import.meta.dirname, '../../../scripts/kafka');
const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(
  readFileSync(join(scriptsKafka, 'pom.xml'), 'utf8'),
)![1]!;
const lib = join(scriptsKafka, 'lib', version);

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

/** The shared broker may be an external one, so the jars may not have been fetched yet. */
function ensureJars(): void {
  if (existsSync(join(lib, '.complete'))) return;
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

export class OwnBroker {
  private process: ChildProcess | undefined;

  private constructor(
    readonly brokers: string,
    private readonly dir: string,
    private readonly config: string,
  ) {}

  /** Formats a fresh storage directory and starts the broker on free ports. */
  static async start(): Promise<OwnBroker> {
    ensureJars();
    const dir = mkdtempSync(join(tmpdir(), 'finaegis-kafka-own-'));
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
      {
        encoding: 'utf8',
      },
    );
    if (format.status !== 0) throw new Error(`formatting the test broker's storage failed: ${format.stderr}`);
    const broker = new OwnBroker(brokers, dir, config);
    await broker.resume();
    return broker;
  }

  /** Starts the broker again on the same ports and data; resolves once it answers. */
  async resume(): Promise<void> {
    const child = spawn('java', java('kafka.Kafka', [this.config]), { stdio: 'ignore' });
    this.process = child;
    const deadline = Date.now() + 90_000;
    while (!(await answers(this.brokers))) {
      if (child.exitCode !== null) throw new Error(`the test broker exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error('the test broker did not answer within 90 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stops the broker (SIGTERM, a clean shutdown) and waits for its JVM to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  /** Stops the broker and starts it again on the same ports and data. */
  async restart(): Promise<void> {
    await this.stop();
    await this.resume();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// Kafka's own command-line tools (the Java ConsoleConsumer and ConsoleProducer of the broker's
// version) read the records we send and write records our consumers handle. This is the check that
// the wire format is plain Kafka, not something only kafkajs happens to agree with. The tools ship in
// org.apache.kafka:kafka-tools, which test/tools/pom.xml resolves through Maven (once; then from
// ~/.m2), since the broker's own class path under scripts/kafka/lib does not hold them.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReceivedMessage } from '@finaegis/core';
import { decodeTransportMessage, encodeTransportMessage } from '@finaegis/core/adapter';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { KafkaTransport } from '../src/index';
import { BROKERS, removePrefix, requireKafka, testTransport, uniquePrefix } from './helpers';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const toolsPom = join(import.meta.dirname, 'tools', 'pom.xml');
const CONSOLE_CONSUMER = 'org.apache.kafka.tools.consumer.ConsoleConsumer';
const CONSOLE_PRODUCER = 'org.apache.kafka.tools.ConsoleProducer';

const prefix = uniquePrefix();
let classPath = '';
let transport: KafkaTransport | undefined;
const running = new Set<ChildProcess>();

interface ToolRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], stdin = ''): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', (error) => {
      running.delete(child);
      reject(new Error(`could not start ${command}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code) => {
      running.delete(child);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.end(stdin, 'utf8');
  });
}

/** The tools' class path, from Maven, for the Kafka version the test broker runs. */
async function resolveToolsClassPath(): Promise<string> {
  const brokerPom = readFileSync(join(repoRoot, 'scripts', 'kafka', 'pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(brokerPom)?.[1];
  if (version === undefined) throw new Error('scripts/kafka/pom.xml has no <kafka.version>');
  const dir = mkdtempSync(join(tmpdir(), 'finaegis-kafka-tools-'));
  try {
    const file = join(dir, 'classpath.txt');
    const result = await run('mvn', [
      '-q',
      '-B',
      '-f',
      toolsPom,
      'dependency:build-classpath',
      `-Dkafka.version=${version}`,
      `-Dmdep.outputFile=${file}`,
    ]).catch((error: Error) => {
      throw new Error(`Kafka's console tools are missing: ${error.message} (apt-get install maven)`, {
        cause: error,
      });
    });
    if (result.code !== 0) {
      throw new Error(
        `Kafka's console tools are missing: mvn could not resolve org.apache.kafka:kafka-tools:${version} ` +
          `(exit ${result.code}):\n${(result.stdout + result.stderr).slice(-3000)}`,
      );
    }
    return readFileSync(file, 'utf8').trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function kafkaTool(mainClass: string, args: readonly string[], stdin = ''): Promise<string> {
  const result = await run('java', ['-cp', classPath, mainClass, ...args], stdin).catch((error: Error) => {
    throw new Error(`Kafka's console tools need java: ${error.message} (apt-get install default-jre)`, {
      cause: error,
    });
  });
  if (result.code !== 0) {
    throw new Error(`${mainClass} exited with ${result.code}:\n${result.stderr.slice(-3000)}`);
  }
  return result.stdout;
}

beforeAll(async () => {
  await requireKafka();
  classPath = await resolveToolsClassPath();
}, 180_000);
afterEach(async () => {
  for (const child of running) child.kill('SIGKILL');
  await transport?.close();
  transport = undefined;
});
afterAll(() => removePrefix(prefix));

describe("interoperability with Kafka's own console tools", () => {
  test('kafka-console-consumer reads a message our transport sent, envelope and headers intact', {
    timeout: 60_000,
  }, async () => {
    transport = testTransport(prefix);
    const channel = `console-out-${Date.now().toString(36)}`;
    const ours = {
      id: 'o-1',
      type: 'exchange.OrderPlaced',
      body: '{"orderId":"o-1","note":"ü | €"}',
      headers: { tenant: 'ß-1', trace: 'abc' },
    };
    await transport.send(channel, ours, { key: 'order-o-1' });

    const stdout = await kafkaTool(CONSOLE_CONSUMER, [
      '--bootstrap-server',
      BROKERS.join(','),
      '--topic',
      transport.topicName(channel),
      '--group',
      `${prefix}console-consumer`,
      '--from-beginning',
      '--max-messages',
      '1',
      '--timeout-ms',
      '30000',
      '--property',
      'print.key=true',
      '--property',
      'print.headers=true',
    ]);

    // One line per record: headers, key and value, separated by tabs (the formatter's default).
    const lines = stdout.split('\n').filter((line) => line.length > 0);
    expect(lines).toHaveLength(1);
    const [headers, key, value, ...rest] = (lines[0] ?? '').split('\t');
    expect(rest).toEqual([]);
    expect(key).toBe('order-o-1');
    expect(headers?.split(',').sort()).toEqual(['finaegis-id:o-1', 'finaegis-type:exchange.OrderPlaced']);
    expect(decodeTransportMessage(value ?? '')).toEqual(ours);
  });

  test('a record kafka-console-producer wrote in our envelope is handled by our consumer', {
    timeout: 60_000,
  }, async () => {
    transport = testTransport(prefix);
    const channel = `console-in-${Date.now().toString(36)}`;
    const received: ReceivedMessage[] = [];
    await transport.consume(channel, async (m) => void received.push(m), { group: 'ours' });

    const foreign = {
      id: 'c-1',
      type: 'other.Thing',
      body: '{"amount":"12.50","note":"ü | €"}',
      headers: { origin: 'kafka-console-producer' },
      key: 'k-1',
    };
    // `key|value`: the producer splits at the first separator, so the value may hold `|` itself.
    const line = `${foreign.key}|${encodeTransportMessage(foreign)}\n`;
    await kafkaTool(
      CONSOLE_PRODUCER,
      [
        '--bootstrap-server',
        BROKERS.join(','),
        '--topic',
        transport.topicName(channel),
        '--property',
        'parse.key=true',
        '--property',
        'key.separator=|',
      ],
      line,
    );

    for (const deadline = Date.now() + 30_000; received.length === 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ ...foreign, channel, group: 'ours', attempt: 1 });
  });
});

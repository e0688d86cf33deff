// Kafka's own command-line tools (the Java ConsoleConsumer and ConsoleProducer of the broker's
// version) as a foreign client in the tests. They ship in org.apache.kafka:kafka-tools, which
// test/tools/pom.xml resolves through Maven (once; then from ~/.m2), since the broker's own class
// path under scripts/kafka/lib does not hold them.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROKERS } from './helpers';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const toolsPom = join(import.meta.dirname, 'tools', 'pom.xml');
const CONSOLE_CONSUMER = 'org.apache.kafka.tools.consumer.ConsoleConsumer';
const CONSOLE_PRODUCER = 'org.apache.kafka.tools.ConsoleProducer';

let classPath: string | undefined;
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

/** Resolves the tools' class path with Maven, for the Kafka version the test broker runs. */
export async function requireConsoleTools(): Promise<void> {
  if (classPath !== undefined) return;
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
    classPath = readFileSync(file, 'utf8').trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Kills the tools still running (for `afterEach`). */
export function killConsoleTools(): void {
  for (const child of running) child.kill('SIGKILL');
}

async function kafkaTool(mainClass: string, args: readonly string[], stdin = ''): Promise<string> {
  if (classPath === undefined) throw new Error('call requireConsoleTools() in beforeAll first');
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

/** One record as kafka-console-consumer printed it. */
export interface PrintedRecord {
  readonly partition: number;
  /** `null` for a record without a key (the formatter prints `null`). */
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly value: string;
}

/**
 * Reads `count` records of a topic from its start with kafka-console-consumer, in a group of its
 * own, printing partition, headers, key and value. Header values must not hold `,`.
 */
export async function consoleConsume(topic: string, group: string, count: number): Promise<PrintedRecord[]> {
  const stdout = await kafkaTool(CONSOLE_CONSUMER, [
    '--bootstrap-server',
    BROKERS.join(','),
    '--topic',
    topic,
    '--group',
    group,
    '--from-beginning',
    '--max-messages',
    String(count),
    '--timeout-ms',
    '30000',
    '--property',
    'print.partition=true',
    '--property',
    'print.key=true',
    '--property',
    'print.headers=true',
  ]);
  // One line per record, fields separated by tabs: `Partition:N`, headers (`k:v,k:v`), key, value.
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [partition = '', headers = '', key = '', ...value] = line.split('\t');
      const parsed: Record<string, string> = {};
      if (headers !== 'NO_HEADERS') {
        for (const header of headers.split(',')) {
          const colon = header.indexOf(':');
          parsed[header.slice(0, colon)] = header.slice(colon + 1);
        }
      }
      return {
        partition: Number(partition.replace('Partition:', '')),
        key,
        headers: parsed,
        value: value.join('\t'),
      };
    });
}

/** A record for kafka-console-producer: a key, a value, and headers (none of them may hold `\t` or `~`). */
export interface ConsoleRecord {
  readonly key: string;
  readonly value: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Writes records with kafka-console-producer (the Java client's default partitioner, murmur2 of
 * the key). With headers, a line is `name:value~name:value`, a tab, the key, a tab and the value;
 * the tool refuses an empty header list, so either every record has headers or none has.
 */
export async function consoleProduce(topic: string, records: readonly ConsoleRecord[]): Promise<void> {
  const withHeaders = records.some((record) => record.headers !== undefined);
  if (withHeaders && records.some((record) => record.headers === undefined)) {
    throw new Error('consoleProduce: give headers to every record or to none');
  }
  const lines = records.map(({ key, value, headers }) => {
    if (headers === undefined) return `${key}\t${value}\n`;
    const text = Object.entries(headers)
      .map(([name, v]) => `${name}:${v}`)
      .join('~');
    return `${text}\t${key}\t${value}\n`;
  });
  const headerOptions = withHeaders
    ? [
        '--property',
        'parse.headers=true',
        '--property',
        'headers.delimiter=\t',
        '--property',
        'headers.separator=~',
        '--property',
        'headers.key.separator=:',
      ]
    : [];
  await kafkaTool(
    CONSOLE_PRODUCER,
    [
      '--bootstrap-server',
      BROKERS.join(','),
      '--topic',
      topic,
      '--property',
      'parse.key=true',
      '--property',
      'key.separator=\t',
      ...headerOptions,
    ],
    lines.join(''),
  );
}

import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createKafkaTransport, type KafkaTransport } from '../src/index';
import { BROKERS, removePrefix, requireKafka, testTransport, uniquePrefix } from './helpers';

const packageDir = resolve(import.meta.dirname, '..');
const prefix = uniquePrefix();
const children: ChildProcess[] = [];
let sender: KafkaTransport | undefined;

beforeAll(requireKafka);
afterEach(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.length = 0;
  await sender?.close();
});
afterAll(() => removePrefix(prefix));

interface Worker {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly closed: Promise<void>;
}

/** Starts a consumer process; every id it reports is pushed to `handled`. */
function startWorker(channel: string, group: string, name: string, handled: string[]): Worker {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve(packageDir, 'test/child/scale-worker.ts'),
      BROKERS.join(','),
      prefix,
      channel,
      group,
      name,
    ],
    { cwd: packageDir, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  let ready!: () => void;
  let closed!: () => void;
  const worker: Worker = {
    child,
    ready: new Promise((r) => {
      ready = r;
    }),
    closed: new Promise((r) => {
      closed = r;
    }),
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') ready();
    else if (line === 'closed') closed();
    else if (line.startsWith('handled ')) handled.push(line.split(' ')[2]!);
  });
  return worker;
}

async function until(condition: () => boolean, what: () => string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('scale-out: 3 consumer processes in one group over a 6-partition topic', () => {
  test.each([
    ['stops gracefully (SIGTERM: close, commit, leave)', 'SIGTERM'],
    ['crashes (SIGKILL: its partitions move after the session timeout)', 'SIGKILL'],
  ] as const)(
    '10,000 events are all handled when one consumer %s; duplicates reported',
    async (_, signal) => {
      const channel = `scale-${signal}-${Date.now().toString(36)}`;
      const group = 'workers';
      const handled: string[] = [];
      sender = testTransport(prefix, { partitions: 6 });
      const workers = ['a', 'b', 'c'].map((name) => startWorker(channel, group, name, handled));
      await Promise.all(workers.map((w) => w.ready));

      const total = 10_000;
      const ids = Array.from({ length: total }, (_, i) => `event-${i}`);
      await Promise.all(
        ids.map((id, i) =>
          sender!.send(channel, {
            id,
            type: 'scale.Event',
            body: JSON.stringify({ i }),
            headers: {},
            key: `aggregate-${i % 500}`,
          }),
        ),
      );

      await until(
        () => new Set(handled).size >= total / 3,
        () => `a third of the events (${new Set(handled).size})`,
      );
      const stoppedAt = new Set(handled).size;
      workers[0]!.child.kill(signal);
      if (signal === 'SIGTERM') await workers[0]!.closed;

      await until(
        () => new Set(handled).size >= total,
        () => `all ${total} events (${new Set(handled).size} handled)`,
      );
      const unique = new Set(handled);
      const duplicates = handled.length - unique.size;
      console.info(
        `[scale-out ${signal}] ${total} events, consumer a stopped after ${stoppedAt} were handled; ` +
          `handled ${handled.length} times in all, ${duplicates} duplicate deliveries`,
      );
      expect(unique.size).toBe(total);
      expect([...unique].every((id) => id.startsWith('event-'))).toBe(true);
      // Everything handled is also committed: the group's lag falls to 0.
      let depth = -1;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
        depth = await sender.depth(channel, { group });
        if (depth === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(depth).toBe(0);
    },
    180_000,
  );
});

describe('a consumer joining a group whose member died', () => {
  test('logs that it is waiting to join (not silent), then that it joined, within the default session timeout', async () => {
    const channel = 'join-notice';
    const group = `${prefix}join-notice`;
    const dead = startWorker(channel, group, 'dead', []);
    await dead.ready;
    dead.child.kill('SIGKILL');
    const lines: { level: string; message: string; context: Record<string, unknown> | undefined }[] = [];
    const record =
      (level: string) =>
      (message: string, context?: Record<string, unknown>): void => {
        lines.push({ level, message, context });
      };
    // The defaults (6 s session): the group waits for the dead member until its session times out.
    sender = createKafkaTransport({
      brokers: BROKERS,
      topicPrefix: prefix,
      partitions: 3,
      logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') },
    });
    const startedAt = Date.now();
    const subscription = await sender.consume(channel, async () => {}, { group });
    const joinedMs = Date.now() - startedAt;
    await subscription.close();
    const waiting = lines.find((l) => l.message.includes(`waiting to join consumer group ${group}`));
    const joined = lines.find((l) => l.message.includes(`joined consumer group ${group}`));
    expect(waiting?.level).toBe('info');
    expect(waiting?.context).toMatchObject({ group, sessionTimeoutMs: 6_000 });
    expect(joined?.context?.waitedMs).toBeGreaterThanOrEqual(2_000);
    console.info(`[join notice] joined ${(joinedMs / 1000).toFixed(1)} s after a member was SIGKILLed`);
    expect(joinedMs).toBeLessThan(15_000);
  }, 60_000);
});

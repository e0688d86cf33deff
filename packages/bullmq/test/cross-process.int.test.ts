import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createCqrs, newId, silentLogger } from '@finaegis/core';
import { Queue } from 'bullmq';
import { afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import { Marked, MarkHandled } from './child/messages';
import { type Harness, harness, REDIS_URL, requireRedis, until } from './helpers';

const packageDir = resolve(import.meta.dirname, '..');
let h: Harness;
const children: ChildProcess[] = [];

beforeAll(requireRedis);
beforeEach(() => {
  h = harness();
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await h.cleanup();
});

/** Starts a TypeScript child with tsx and resolves once it prints `ready`. */
async function startChild(script: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(packageDir, 'test/child', script)], {
    cwd: packageDir,
    env: { ...process.env, TSX_TSCONFIG_PATH: resolve(packageDir, 'tsconfig.json'), REDIS_URL, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise<void>((ready, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) ready();
    });
    child.once('exit', (code) => fail(new Error(`${script} exited with ${code} before ready: ${stderr}`)));
  });
  return child;
}

test('a worker process runs the commands and events this process sends', async () => {
  const marks = `${h.prefix}:marks`;
  const child = await startChild('cqrs-worker.ts', { PREFIX: h.prefix, MARKS: marks });
  const app = createCqrs({ transport: h.transport(), logger: silentLogger });
  app.registry.register(MarkHandled, Marked);

  const tags = Array.from({ length: 20 }, (_, i) => `t${i}`);
  for (const tag of tags) {
    await app.commandBus.dispatchAsync(new MarkHandled(tag));
    await app.eventBus.publishAsync(new Marked(tag));
  }
  const redis = h.client();
  await until(async () => (await redis.hlen(marks)) === 40, 'marks from the worker process', 30_000);
  const written = await redis.hgetall(marks);
  const pids = new Set(Object.values(written));
  expect(Object.keys(written).sort()).toEqual(tags.flatMap((t) => [`command:${t}`, `event:${t}`]).sort());
  expect([...pids]).toEqual([String(child.pid)]);
  expect(child.pid).not.toBe(process.pid);
  await app.close();

  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});

// Its waits add up to 150 s (60 + 60 + 30): the test's own timeout must not cut them short on a
// loaded machine (a full test run on 2 cores at load 18 took it past vitest's default 30 s).
test('SIGKILL with 1,000 jobs in flight: a new worker handles every one, none lost', {
  timeout: 180_000,
}, async () => {
  const count = 1000;
  const timing = { lockDurationMs: 2000, stalledIntervalMs: 1000 };
  const started = `${h.prefix}:started`;
  const sender = h.transport(timing);
  const child = await startChild('crash-worker.ts', {
    PREFIX: h.prefix,
    CHANNEL: 'jobs',
    STARTED: started,
    CONCURRENCY: String(count),
    LOCK_MS: String(timing.lockDurationMs),
    STALLED_MS: String(timing.stalledIntervalMs),
  });
  const ids = Array.from({ length: count }, () => newId());
  await sender.sendBatch(
    'jobs',
    ids.map((id) => ({ message: { id, type: 'test.Job', body: id, headers: {} } })),
  );
  const redis = h.client();
  await until(async () => (await redis.scard(started)) === count, '1,000 jobs in flight', 60_000);
  const queue = new Queue('jobs.workers', { connection: h.client(), prefix: h.prefix });
  expect(await queue.getJobCountByTypes('active')).toBe(count);

  const killed = new Promise((done) => child.once('exit', (_code, signal) => done(signal)));
  child.kill('SIGKILL');
  expect(await killed).toBe('SIGKILL');

  const handled = new Map<string, number>();
  const survivor = h.transport(timing);
  await survivor.consume(
    'jobs',
    async (m) => {
      handled.set(m.id, (handled.get(m.id) ?? 0) + 1);
    },
    { group: 'workers', concurrency: 50 },
  );
  await until(() => handled.size === count, 'every job handled by the new worker', 60_000);
  await until(async () => (await survivor.depth('jobs')) === 0, 'an empty queue', 30_000);

  const deliveries = [...handled.values()].reduce((a, b) => a + b, 0);
  const duplicates = deliveries - count;
  console.info(
    `[bullmq crash test] ${count} jobs in flight at SIGKILL; new worker handled ${handled.size} distinct, ` +
      `${deliveries} deliveries, ${duplicates} duplicates; lost ${count - handled.size}`,
  );
  expect([...handled.keys()].sort()).toEqual([...ids].sort());
  expect(await survivor.deadLetters('jobs')).toEqual([]);
  expect(await queue.getJobCountByTypes('completed')).toBe(count);
  await queue.close();
});

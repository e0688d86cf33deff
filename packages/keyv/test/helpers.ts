import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '@finaegis/core';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test (or run) uses. */
export function uniquePrefix(label: string): string {
  return `test:keyv:${label}:${newId()}:`;
}

/** Fails (never skips) with a message naming what is missing when Redis is not there. */
export async function assertRedisUp(url: string = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(
      `Redis is not reachable at ${url} (set REDIS_URL or start it: pnpm services:up): ${(error as Error).message}`,
    );
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under a prefix (tests may scan; the store never does). */
export async function deleteKeys(prefix: string, url: string = REDIS_URL): Promise<string[]> {
  const redis = new Redis(url);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length > 0) await redis.del(...keys);
    return keys;
  } finally {
    redis.disconnect();
  }
}

/** The keys under a prefix, for tests that look at the layout. */
export async function keysUnder(prefix: string, url: string = REDIS_URL): Promise<string[]> {
  const redis = new Redis(url);
  try {
    return (await redis.keys(`*${prefix}*`)).sort();
  } finally {
    redis.disconnect();
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

/** A redis-server of the test's own, with AOF persistence, that the test can stop and start again. */
export class OwnRedis {
  readonly url: string;
  #process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(): Promise<OwnRedis> {
    const dir = await mkdtemp(join(tmpdir(), 'finaegis-keyv-redis-'));
    const server = new OwnRedis(await freePort(), dir);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    const bin = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
    const child = spawn(
      bin,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--appendonly',
        'yes',
        '--dir',
        this.dir,
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    this.#process = child;
    const failed = once(child, 'exit').then(([code]) => {
      throw new Error(`redis-server (${bin}) exited with ${code} before accepting connections`);
    });
    failed.catch(() => {});
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await Promise.race([assertRedisUp(this.url), failed]);
        return;
      } catch (error) {
        if (child.exitCode !== null || Date.now() > deadline) throw error;
        await sleep(50);
      }
    }
  }

  /** SIGTERM: Redis flushes the append-only file and exits. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Retries `attempt` until it resolves, for waiting on a reconnect; fails after `withinMs`. */
export async function eventually<T>(attempt: () => Promise<T>, withinMs = 15_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

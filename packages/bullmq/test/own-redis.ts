// A redis-server of the test's own with AOF persistence, for tests that stop and restart Redis:
// the shared server at REDIS_URL is never restarted.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
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

export class OwnRedis {
  readonly url: string;
  #child: ChildProcess | undefined;

  private constructor(
    private readonly port: number,
    private readonly dir: string,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(): Promise<OwnRedis> {
    const server = new OwnRedis(await freePort(), await mkdtemp(join(tmpdir(), 'finaegis-bullmq-redis-')));
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server';
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--appendonly', 'yes'];
    this.#child = spawn(bin, [...args, '--appendfsync', 'always', '--dir', this.dir, '--save', ''], {
      stdio: 'ignore',
    });
    for (const deadline = Date.now() + 10_000; !(await answers(this.url)); await sleep(50)) {
      if (this.#child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`redis-server (${bin}) on port ${this.port} did not start`);
      }
    }
  }

  /** SIGTERM: Redis writes its append-only file and exits. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { silentLogger } from '@finaegis/core';
import type { FastifyInstance } from 'fastify';
import { type Adapters, createExchangeApp, type ExchangeApp } from '../src/app';
import { demoConfigFromEnv } from '../src/config/domain';
import { buildServer } from '../src/http/server';
import type { Telemetry } from '../src/telemetry';

export interface Harness {
  readonly app: ExchangeApp;
  readonly server: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The all-in-one demo (seeded, with a worker), without listening on a port: on the memory adapters
 * unless `env` names others, with `adapters` in place of the configured ones, and `telemetry`'s
 * instrumentation, `/metrics` and panel when given.
 */
export async function startHarness(
  env: Record<string, string> = {},
  adapters?: Adapters,
  telemetry?: Telemetry,
): Promise<Harness> {
  const config = demoConfigFromEnv({ ORDER_BOOK_TTL: '60', ...env });
  const instrumentation = telemetry?.instrumentation(config.domain.queueConnection);
  const app = await createExchangeApp(config, {
    logger: silentLogger,
    ...(adapters === undefined ? {} : { adapters }),
    ...(instrumentation === undefined ? {} : { instrumentation }),
  });
  telemetry?.observeQueues(app.adapters.transport, ['commands', 'events'], 'exchange-workers');
  await app.seed();
  await app.cqrs.startWorker({ group: 'exchange-workers', concurrency: 2 });
  const server = await buildServer(app, telemetry === undefined ? {} : { telemetry });
  await server.ready();
  return {
    app,
    server,
    async close() {
      await server.close();
      await app.close();
    },
  };
}

export const alice = { authorization: 'Bearer demo-alice' };
export const bob = { authorization: 'Bearer demo-bob' };

/** Polls until `check` returns a value other than undefined (async work done by a worker). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// The demo does not depend on ioredis itself; tests borrow the BullMQ adapter's copy to clean up.
const Redis = createRequire(resolve(import.meta.dirname, '../../../packages/bullmq/package.json'))(
  'ioredis',
) as new (
  url: string,
) => {
  scan(cursor: string, ...args: (string | number)[]): Promise<[string, string[]]>;
  unlink(...keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
};

/** Deletes every Redis key under a prefix (a test's BullMQ queues or cache entries). */
export async function removeRedisPrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}

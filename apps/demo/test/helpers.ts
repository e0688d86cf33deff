import { silentLogger } from '@finaegis/core';
import type { FastifyInstance } from 'fastify';
import { createExchangeApp, type ExchangeApp } from '../src/app';
import { demoConfigFromEnv } from '../src/config/domain';
import { buildServer } from '../src/http/server';

export interface Harness {
  readonly app: ExchangeApp;
  readonly server: FastifyInstance;
  close(): Promise<void>;
}

/** The all-in-one memory demo (seeded, with a worker), without listening on a port. */
export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const config = demoConfigFromEnv({ ORDER_BOOK_TTL: '60', ...env });
  const app = await createExchangeApp(config, { logger: silentLogger });
  await app.seed();
  await app.cqrs.startWorker({ group: 'exchange-workers', concurrency: 2 });
  const server = await buildServer(app);
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

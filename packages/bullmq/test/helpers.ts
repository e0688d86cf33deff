import { randomUUID } from 'node:crypto';
import { newId, silentLogger, type TransportMessage } from '@finaegis/core';
import { Redis } from 'ioredis';
import { type BullmqTransport, type BullmqTransportOptions, createBullmqTransport } from '../src/index';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Fails (never skips) with a message naming what is missing. */
export async function requireRedis(): Promise<void> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new Error(
      `These tests need Redis at REDIS_URL=${REDIS_URL} (start it with \`pnpm services:up\`): ${(error as Error).message}`,
    );
  } finally {
    client.disconnect();
  }
}

export function uniquePrefix(): string {
  return `fa-test-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under a prefix. */
export async function removePrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}

export function message(body: string, extra: Partial<TransportMessage> = {}): TransportMessage {
  return { id: newId(), type: 'test.Message', body, headers: {}, ...extra };
}

/** Resolves when `predicate` holds, polling; rejects with `what` after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface Harness {
  readonly prefix: string;
  transport(options?: BullmqTransportOptions): BullmqTransport;
  client(): Redis;
  cleanup(): Promise<void>;
}

/** Transports and clients made through it are closed, and the prefix's keys removed, by `cleanup`. */
export function harness(): Harness {
  const prefix = uniquePrefix();
  const transports: BullmqTransport[] = [];
  const clients: Redis[] = [];
  return {
    prefix,
    transport(options = {}) {
      const t = createBullmqTransport({ url: REDIS_URL, prefix, logger: silentLogger, ...options });
      transports.push(t);
      return t;
    },
    client() {
      const c = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      clients.push(c);
      return c;
    },
    async cleanup() {
      await Promise.all(transports.map((t) => t.close()));
      await removePrefix(prefix);
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, test } from 'vitest';

const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

describe(`Redis at ${url}`, () => {
  let client: Redis | undefined;
  afterEach(async () => {
    await client?.quit();
    client = undefined;
  });

  test('answers SET and GET (run `pnpm services:up` if this fails)', async () => {
    client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    await client.connect().catch((error: Error) => {
      throw new Error(`Redis is missing: nothing usable at REDIS_URL=${url} (${error.message})`);
    });
    const key = `finaegis-scripts:${randomUUID()}`;
    await client.set(key, 'ünïcode ✓', 'EX', 60);
    expect(await client.get(key)).toBe('ünïcode ✓');
    await client.del(key);
    expect(await client.get(key)).toBeNull();
  });
});

import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { CacheStoreError, createKeyvCacheStore, type KeyvCacheStore } from '@finaegis/keyv';
import { afterEach, describe, expect, test } from 'vitest';
import { eventually, freePort, OwnRedis } from './helpers';

const opened: KeyvCacheStore[] = [];
const servers: OwnRedis[] = [];
const silent: { server: Server; sockets: Set<Socket> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await Promise.all(servers.splice(0).map((server) => server.destroy()));
  for (const { server, sockets } of silent.splice(0)) {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

// 1 s rather than the default 250 ms: the healthy operations around the outage must not time out on
// a busy machine. The budget itself is tested with a silent server below.
function open(url: string, opTimeoutMs = 1000): KeyvCacheStore {
  const store = createKeyvCacheStore({
    redisUrl: url,
    keyPrefix: 'outage:',
    opTimeoutMs,
    reconnectMaxDelayMs: 200,
  });
  opened.push(store);
  return store;
}

async function failure(operation: Promise<unknown>): Promise<CacheStoreError> {
  const error = await operation.then(
    () => {
      throw new Error('expected the operation to reject while Redis is down');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CacheStoreError);
  return error as CacheStoreError;
}

describe('keyv cache store when Redis goes away', () => {
  test('operations reject (instead of hanging) while Redis is down, and caching resumes when it is back', async () => {
    const redis = await OwnRedis.start();
    servers.push(redis);
    const store = open(redis.url);
    // The first operation also connects; on a busy machine that may take longer than the budget.
    await eventually(() => store.set('q', 'before', { kept: true }, 600));
    expect(await store.get('q', 'before')).toEqual({ value: { kept: true } });
    const errorsBefore = store.stats().errors;

    await redis.stop();
    for (const operation of [
      store.get('q', 'before'),
      store.set('q', 'during', 1, 600),
      store.delete('q', 'before'),
      store.clear('q'),
    ]) {
      const error = await failure(operation);
      expect(['unavailable', 'timeout']).toContain(error.reason);
      expect(error.retryable).toBe(true);
    }
    expect(store.stats().errors - errorsBefore).toBe(4);

    await redis.start();
    // The client reconnects by itself; the entry written before the outage survived in the AOF.
    const hit = await eventually(() => store.get('q', 'before'));
    expect(hit).toEqual({ value: { kept: true } });
    await store.set('q', 'after', 2, 600);
    expect(await store.get('q', 'after')).toEqual({ value: 2 });
    expect(await store.get('q', 'during')).toBeUndefined();
  });

  test('Redis down from the start: operations reject, and the store connects once Redis appears', async () => {
    const redis = await OwnRedis.start();
    servers.push(redis);
    await redis.stop();
    const store = open(redis.url);
    const first = await failure(store.get('q', 'k'));
    expect(first.reason).toBe('timeout');
    await failure(store.set('q', 'k', 1, 600));

    await redis.start();
    await eventually(() => store.set('q', 'k', 'v', 600));
    expect(await store.get('q', 'k')).toEqual({ value: 'v' });
  });

  test('a server that accepts connections but never answers makes operations time out', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    silent.push({ server, sockets });
    const port = await freePort();
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    const store = open(`redis://127.0.0.1:${port}`, 100);
    const error = await failure(store.get('q', 'k'));
    expect(error.reason).toBe('timeout');
    expect(error.message).toMatch(/no answer within 100 ms/);
    await failure(store.set('q', 'k', 1, 60));
    expect(store.stats()).toEqual({ hits: 0, misses: 0, errors: 2 });
  });
});

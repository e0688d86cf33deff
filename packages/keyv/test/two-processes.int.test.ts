import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJson } from '@finaegis/core';
import { createKeyvCacheStore, type KeyvCacheStore } from '@finaegis/keyv';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { GetTicker, tickerApp } from './fixtures/ticker';
import { assertRedisUp, deleteKeys, REDIS_URL, uniquePrefix } from './helpers';

const packageDir = resolve(import.meta.dirname, '..');

/** The other process: a child running test/fixtures/cache-peer.ts through tsx. */
class Peer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting = new Map<number, (reply: { ok: boolean; result?: unknown; error?: string }) => void>();
  readonly ready: Promise<number>;
  #nextId = 1;
  #stderr = '';

  constructor(prefix: string) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/cache-peer.ts'], {
      cwd: packageDir,
      env: { ...process.env, REDIS_URL, CACHE_PREFIX: prefix },
    });
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    const lines = createInterface({ input: this.#child.stdout });
    this.ready = new Promise((resolveReady, rejectReady) => {
      this.#child.once('exit', (code) => rejectReady(new Error(`peer exited with ${code}: ${this.#stderr}`)));
      lines.on('line', (line) => {
        const message = decodeJson(line) as { ready?: boolean; pid?: number; id?: number };
        if (message.ready === true) resolveReady(message.pid ?? 0);
        else if (message.id !== undefined) this.#waiting.get(message.id)?.(message as never);
      });
    });
  }

  async call(op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    await this.ready;
    const id = this.#nextId++;
    const reply = await new Promise<{ ok: boolean; result?: unknown; error?: string }>((done) => {
      this.#waiting.set(id, done);
      this.#child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
    this.#waiting.delete(id);
    if (!reply.ok) throw new Error(`peer ${op} failed: ${reply.error}`);
    return reply.result;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((done) => this.#child.once('exit', done));
    this.#child.stdin.end();
    const forced = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(forced);
  }
}

const peers: Peer[] = [];
const stores: KeyvCacheStore[] = [];
const prefixes: string[] = [];

function setUp(label: string): { store: KeyvCacheStore; peer: Peer } {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  const store = createKeyvCacheStore({ redisUrl: REDIS_URL, keyPrefix: prefix, opTimeoutMs: 2000 });
  stores.push(store);
  const peer = new Peer(prefix);
  peers.push(peer);
  return { store, peer };
}

beforeAll(async () => {
  await assertRedisUp();
});

afterEach(async () => {
  await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await Promise.all(prefixes.splice(0).map((prefix) => deleteKeys(prefix)));
});

describe('two processes sharing the Redis-backed cache', () => {
  test('a value set by one is seen by the other within the TTL, and not after it', async () => {
    const { store, peer } = setUp('two-values');
    const peerPid = await peer.ready;
    expect(peerPid).not.toBe(process.pid);

    const at = new Date('2024-03-04T05:06:07.008Z');
    await store.set('query:test.Depth', 'BTC/USD', { bids: [['100.00', '1']], at }, 60);
    expect(await peer.call('get', { namespace: 'query:test.Depth', key: 'BTC/USD' })).toEqual({
      value: { bids: [['100.00', '1']], at },
    });

    await peer.call('set', { namespace: 'query:test.Depth', key: 'ETH/USD', value: null, ttl: 2 });
    expect(await store.get('query:test.Depth', 'ETH/USD')).toEqual({ value: null });
    await sleep(2300);
    expect(await store.get('query:test.Depth', 'ETH/USD')).toBeUndefined();
  }, 60_000);

  test('clearing a namespace in one process is seen at once by the other', async () => {
    const { store, peer } = setUp('two-clear');
    await store.set('query:test.Depth', 'a', 1, 60);
    await store.set('query:test.Other', 'a', 2, 60);
    expect(await peer.call('get', { namespace: 'query:test.Depth', key: 'a' })).toEqual({ value: 1 });

    await peer.call('clear', { namespace: 'query:test.Depth' });
    // No staleness window: the next read in this process already misses.
    expect(await store.get('query:test.Depth', 'a')).toBeUndefined();
    expect(await store.get('query:test.Other', 'a')).toEqual({ value: 2 });

    await store.clear('query:test.Other');
    expect(await peer.call('get', { namespace: 'query:test.Other', key: 'a' })).toBeNull();
  }, 60_000);

  test('askCached: two processes asking the same query run the handler once within the TTL', async () => {
    const { store, peer } = setUp('two-bus');
    const { app, runs } = tickerApp(store);

    const here = await app.queryBus.askCached(new GetTicker('BTC/USD'), { ttl: 60 });
    expect(here.computedBy).toBe(process.pid);
    const there = (await peer.call('ask', { pair: 'BTC/USD', ttl: 60 })) as typeof here;
    expect(there).toEqual(here);
    expect(there.at).toBeInstanceOf(Date);
    expect(runs()).toBe(1);
    expect(await peer.call('runs')).toBe(0);

    // Invalidation by the other process reaches this one: the handler runs again here.
    await peer.call('invalidateType');
    await app.queryBus.askCached(new GetTicker('BTC/USD'), { ttl: 60 });
    expect(runs()).toBe(2);
    expect(await peer.call('runs')).toBe(0);
    expect(app.queryBus.cacheStats()).toMatchObject({ hits: 0, misses: 2, coalesced: 0, errors: 0 });
    await app.close();
  }, 60_000);
});

import {
  type CacheSingleFlight,
  type CacheStats,
  type CacheStore,
  ConfigError,
  encodeJson,
  type HealthCheck,
  InvalidArgumentError,
  newId,
} from '@finaegis/core';
import { formatCause, withTimeout } from '@finaegis/core/adapter';
import { Keyv } from 'keyv';
import { CacheStoreError, notWritten, timedOut } from './cache-store-error';
import { entryText, isLive, readEntry } from './entries';
import { cacheHealth } from './keyv-health';

/** Options of {@link createKeyvCacheStore}. Give `keyv` or `redisUrl`, or neither for an in-process Map. */
export interface KeyvCacheStoreOptions {
  /**
   * A Keyv instance to keep entries in. The store never disconnects it. Give it `throwOnErrors: true`
   * (and its adapter too) so backend failures reach the store as errors instead of silent misses.
   */
  readonly keyv?: Keyv;
  /**
   * A Redis URL. The store builds a Keyv on `@keyv/redis` (an optional peer) with a client that fails
   * fast while Redis is down and reconnects by itself, connects on first use and disconnects on
   * `close()`.
   */
  readonly redisUrl?: string;
  /** Prepended to every key this store writes (after the Keyv instance's own namespace). Default `finaegis:`. */
  readonly keyPrefix?: string;
  /**
   * Milliseconds after which an operation rejects with a `timeout` CacheStoreError instead of waiting
   * for a slow or unreachable backend. `0` turns the timer off. Default 250; off for an in-process Map
   * store, which cannot block.
   */
  readonly opTimeoutMs?: number;
  /** With `redisUrl`: the longest pause between reconnection attempts, in milliseconds. Default 1000. */
  readonly reconnectMaxDelayMs?: number;
  /**
   * With `redisUrl`: per-key leases (SET NX PX) so that on a miss the query bus runs the handler
   * once across every process sharing Redis; the others wait for the result and take the lease over
   * when it expires (the holder died). On by default; `false` turns it off (each process then
   * coalesces its own misses only). `leaseMs` (default 10,000) must exceed the slowest handler;
   * `pollMs` (default 20) is how often waiters look for the result. Not offered on a Keyv instance
   * you pass (Keyv has no atomic set-if-absent).
   */
  readonly singleFlight?: false | { readonly leaseMs?: number; readonly pollMs?: number };
}

/** A CacheStore on Keyv, with the hit/miss/error counters behind the hit-rate metric. */
export interface KeyvCacheStore extends CacheStore {
  /** Counters since creation: a `get` is a hit or a miss; `errors` counts operations that rejected. */
  stats(): CacheStats;
}

type Operation = 'get' | 'set' | 'delete' | 'clear' | 'acquire' | 'release';

const NAME = 'keyv';
const ADAPTER = '@finaegis/keyv';
const DEFAULT_TIMEOUT_MS = 250;
const DEFAULT_RECONNECT_MAX_DELAY_MS = 1000;
const DEFAULT_LEASE_MS = 10_000;
const DEFAULT_POLL_MS = 20;
// Deletes the lease only while it is still this holder's: never one taken over after it expired.
const RELEASE_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * A cache store on any Keyv store: the in-process Map by default, Redis with `redisUrl`, or any
 * Keyv instance.
 *
 * With `redisUrl` it also offers `singleFlight`: a lease per entry at `<prefix>{<namespace>}:l:<key>`
 * (SET NX PX, released by a compare-and-delete script), so a miss runs the handler once across
 * processes.
 *
 * Layout: each namespace has a generation key `<prefix>{<namespace>}:v` holding a random, sortable
 * token, and each entry `<prefix>{<namespace>}:e:<key>` holds `<generation>|<json>`. An entry counts
 * only while its generation equals the namespace's current one, so `clear` is one write of a new
 * token, seen at once by every process sharing the backend, with no key scan. `get` reads both keys
 * with one `getMany` (one MGET on Redis, one round trip, no local staleness window). The braces are a
 * Redis Cluster hash tag: a namespace's keys share a slot, so that MGET stays one command there too.
 */
export function createKeyvCacheStore(options: KeyvCacheStoreOptions | Keyv = {}): KeyvCacheStore {
  return new KeyvBackedCacheStore(isKeyv(options) ? { keyv: options } : options);
}

function isKeyv(value: KeyvCacheStoreOptions | Keyv): value is Keyv {
  return typeof (value as Keyv).getMany === 'function' && typeof (value as Keyv).set === 'function';
}

/** The part of a node-redis client this store drives itself. */
interface RedisClientHandle {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  set(
    key: string,
    value: string,
    options: { condition: 'NX'; expiration: { type: 'PX'; value: number } },
  ): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

class KeyvBackedCacheStore implements KeyvCacheStore {
  readonly name = NAME;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #redisUrl: string | undefined;
  readonly #reconnectMaxDelayMs: number;
  #keyv: Keyv | undefined;
  #redisModule: Promise<typeof import('@keyv/redis')> | undefined;
  #opening: Promise<Keyv> | undefined;
  #client: RedisClientHandle | undefined;
  readonly #generationReads = new Map<string, Promise<string>>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #hits = 0;
  #misses = 0;
  #errors = 0;
  readonly singleFlight?: CacheSingleFlight;

  constructor(options: KeyvCacheStoreOptions) {
    if (options.keyv !== undefined && options.redisUrl !== undefined) {
      throw new ConfigError('keyv', 'a Keyv and a redisUrl', 'either keyv or redisUrl, not both', {
        adapter: ADAPTER,
      });
    }
    this.#prefix = options.keyPrefix ?? 'finaegis:';
    if (this.#prefix.includes('{')) {
      throw new ConfigError('keyPrefix', this.#prefix, 'a prefix without "{"', { adapter: ADAPTER });
    }
    const timeout = options.opTimeoutMs;
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout >= 0)) {
      throw new ConfigError('opTimeoutMs', timeout, 'a number of milliseconds >= 0 (0 turns the timer off)', {
        adapter: ADAPTER,
      });
    }
    this.#redisUrl = options.redisUrl;
    this.#reconnectMaxDelayMs = options.reconnectMaxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS;
    if (options.redisUrl === undefined) {
      this.#keyv = options.keyv ?? new Keyv();
      // A Map answers synchronously; a timer per call would only cost time.
      const inProcess = this.#keyv.store instanceof Map;
      this.#timeoutMs = timeout ?? (inProcess ? 0 : DEFAULT_TIMEOUT_MS);
    } else {
      this.#timeoutMs = timeout ?? DEFAULT_TIMEOUT_MS;
      // Loading the module is not connecting; doing it now keeps it out of the first operation's
      // time budget.
      this.#redisModule = import('@keyv/redis');
      this.#redisModule.catch(() => {});
      if (options.singleFlight !== false) this.singleFlight = this.#leases(options.singleFlight ?? {});
    }
  }

  #leases(options: { readonly leaseMs?: number; readonly pollMs?: number }): CacheSingleFlight {
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    if (!(Number.isInteger(leaseMs) && leaseMs > 0)) {
      throw new ConfigError('singleFlight.leaseMs', leaseMs, 'a whole number of milliseconds > 0', {
        adapter: ADAPTER,
      });
    }
    if (!(Number.isFinite(pollMs) && pollMs > 0 && pollMs < leaseMs)) {
      throw new ConfigError('singleFlight.pollMs', pollMs, 'a number of milliseconds > 0 and < leaseMs', {
        adapter: ADAPTER,
      });
    }
    return {
      leaseMs,
      pollMs,
      acquire: (namespace, key) => {
        const leaseKey = `${this.#base(namespace)}:l:${key}`;
        const token = newId();
        return this.#run('acquire', async () => {
          const reply = await this.#client!.set(leaseKey, token, {
            condition: 'NX',
            expiration: { type: 'PX', value: leaseMs },
          });
          return reply === 'OK' ? token : undefined;
        });
      },
      release: (namespace, key, token) => {
        const leaseKey = `${this.#base(namespace)}:l:${key}`;
        return this.#run('release', async () => {
          await this.#client!.eval(RELEASE_SCRIPT, { keys: [leaseKey], arguments: [token] });
        });
      },
    };
  }

  stats(): CacheStats {
    return { hits: this.#hits, misses: this.#misses, errors: this.#errors };
  }

  get(namespace: string, key: string): Promise<{ readonly value: unknown } | undefined> {
    const base = this.#base(namespace);
    return this.#run('get', async (keyv) => {
      const [generation, stored] = (await keyv.getMany([`${base}:v`, `${base}:e:${key}`])) as unknown[];
      const entry = readEntry(stored, generation);
      if (entry === undefined) this.#misses++;
      else this.#hits++;
      return entry;
    });
  }

  set(namespace: string, key: string, value: unknown, ttlSeconds: number): Promise<void> {
    if (!(Number.isFinite(ttlSeconds) && ttlSeconds > 0)) {
      this.#errors++;
      return Promise.reject(
        new InvalidArgumentError(ADAPTER, 'ttlSeconds', `must be a finite number > 0, got ${ttlSeconds}`),
      );
    }
    let body: string;
    try {
      // `undefined` has no JSON form; an empty body stands for it.
      body = value === undefined ? '' : (encodeJson(value) ?? '');
    } catch (error) {
      this.#errors++;
      return Promise.reject(
        new InvalidArgumentError(ADAPTER, 'value', 'is not JSON-serialisable', { cause: error }),
      );
    }
    const base = this.#base(namespace);
    return this.#run('set', async (keyv) => {
      const generation = await this.#currentGeneration(keyv, `${base}:v`);
      const written = await keyv.set(
        `${base}:e:${key}`,
        entryText(generation, body),
        Math.ceil(ttlSeconds * 1000),
      );
      if (written === false) throw notWritten('set', 'the entry');
    });
  }

  delete(namespace: string, key: string): Promise<boolean> {
    const base = this.#base(namespace);
    return this.#run('delete', async (keyv) => {
      const entryKey = `${base}:e:${key}`;
      const [generation, stored] = (await keyv.getMany([`${base}:v`, entryKey])) as unknown[];
      if (stored === undefined || stored === null) return false;
      // An entry of an older generation is already gone as far as callers can tell. A corrupt one
      // is removed all the same.
      const live = isLive(stored, generation);
      const removed = await keyv.delete(entryKey);
      return live && removed;
    });
  }

  clear(namespace: string): Promise<void> {
    const base = this.#base(namespace);
    // A set that starts after this clear must not reuse a generation read that started before it.
    this.#generationReads.delete(`${base}:v`);
    return this.#run('clear', async (keyv) => {
      const written = await keyv.set(`${base}:v`, newId(), 0);
      if (written === false) throw notWritten('clear', 'the namespace generation');
    });
  }

  /** Redis (or the Keyv backend) answering one read, not counted as a hit or miss (keyv-health.ts). */
  health(): Promise<readonly HealthCheck[]> {
    const probe = () => this.#run('get', (keyv) => keyv.get(`${this.#prefix}health`));
    return cacheHealth(this.#redisUrl === undefined ? 'keyv' : 'redis', probe);
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#closing = this.#disconnect();
    }
    return this.#closing;
  }

  // Escaping `%` and `}` keeps the namespace part unambiguous (it ends at the first `}`).
  #base(namespace: string): string {
    const escaped =
      namespace.includes('%') || namespace.includes('}')
        ? namespace.replaceAll('%', '%25').replaceAll('}', '%7D')
        : namespace;
    return `${this.#prefix}{${escaped}}`;
  }

  /**
   * The namespace's generation, created when missing (first use, or evicted). A fresh random token,
   * never a reset counter, so entries of a lost generation can never become valid again. Concurrent
   * sets in this process share one read (and one creation): otherwise a burst of first writes would
   * each create a token and all but the last would tag their entries with a losing one.
   */
  #currentGeneration(keyv: Keyv, generationKey: string): Promise<string> {
    const inFlight = this.#generationReads.get(generationKey);
    if (inFlight !== undefined) return inFlight;
    const read = (async () => {
      const current: unknown = await keyv.get(generationKey);
      if (typeof current === 'string') return current;
      const created = newId();
      // ttl 0: never expire, whatever default TTL the Keyv instance has.
      const written = await keyv.set(generationKey, created, 0);
      if (written === false) throw notWritten('set', 'the namespace generation');
      return created;
    })().finally(() => {
      if (this.#generationReads.get(generationKey) === read) this.#generationReads.delete(generationKey);
    });
    this.#generationReads.set(generationKey, read);
    return read;
  }

  #run<T>(operation: Operation, work: (keyv: Keyv) => Promise<T>): Promise<T> {
    if (this.#closed) {
      this.#errors++;
      return Promise.reject(new CacheStoreError(NAME, operation, 'closed', 'the store is closed'));
    }
    const keyv = this.#keyv;
    if (keyv !== undefined) return this.#bounded(operation, work(keyv));
    // First use of a Redis store: loading the client library is local work, left out of the time
    // budget; connecting is not.
    const loaded = this.#redisModule ?? Promise.resolve();
    return loaded.then(
      () => this.#bounded(operation, this.#open().then(work)),
      (error: unknown) => {
        this.#errors++;
        throw new CacheStoreError(
          NAME,
          operation,
          'unavailable',
          `cannot load @keyv/redis (is it installed?)`,
          {
            cause: error,
          },
        );
      },
    );
  }

  #bounded<T>(operation: Operation, pending: Promise<T>): Promise<T> {
    const bounded =
      this.#timeoutMs > 0
        ? withTimeout(pending, this.#timeoutMs, timedOut(operation, this.#timeoutMs))
        : pending;
    return bounded.catch((error: unknown) => {
      this.#errors++;
      throw error instanceof CacheStoreError
        ? error
        : new CacheStoreError(NAME, operation, 'unavailable', formatCause(error), { cause: error });
    });
  }

  #open(): Promise<Keyv> {
    this.#opening ??= this.#connectRedis().catch((error: unknown) => {
      // Let the next operation try again from scratch.
      this.#opening = undefined;
      throw error;
    });
    return this.#opening;
  }

  async #connectRedis(): Promise<Keyv> {
    const redis = await (this.#redisModule ??= import('@keyv/redis'));
    const maxDelay = this.#reconnectMaxDelayMs;
    const client = redis.createClient({
      url: this.#redisUrl as string,
      // Commands fail at once while disconnected instead of queueing until Redis is back: a cache
      // that waits is worse than no cache.
      disableOfflineQueue: true,
      socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, maxDelay) },
    });
    const adapter = new redis.default(client, { throwOnErrors: true, throwOnConnectError: true });
    const keyv = new Keyv(adapter, { useKeyPrefix: false, throwOnErrors: true });
    // Keyv hands its default namespace (`keyv`) to the adapter; keyPrefix already places our keys.
    keyv.namespace = undefined;
    // Errors reach callers as rejections; without a listener they would only be dropped anyway.
    keyv.on('error', () => {});
    this.#client = client as unknown as RedisClientHandle;
    if (this.#closed) {
      client.destroy();
      throw new CacheStoreError(NAME, 'connect', 'closed', 'the store is closed');
    }
    // connect() keeps retrying (reconnectStrategy) until Redis answers; operations meanwhile give
    // up after opTimeoutMs and this promise stays the one they wait on.
    await client.connect();
    this.#keyv = keyv;
    return keyv;
  }

  async #disconnect(): Promise<void> {
    const client = this.#client;
    this.#keyv = undefined;
    if (client === undefined || !client.isOpen) return;
    if (client.isReady) {
      // QUIT lets replies in flight arrive; bounded so a dying server cannot hold close() up.
      const quit = client.close().catch(() => undefined);
      const ms = Math.max(this.#timeoutMs, DEFAULT_TIMEOUT_MS);
      await withTimeout(quit, ms, timedOut('close', ms)).catch(() => undefined);
    }
    if (client.isOpen) client.destroy();
  }
}

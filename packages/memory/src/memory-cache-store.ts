import { type CacheStats, type CacheStore, ConfigError, InvalidArgumentError } from '@finaegis/core';

/** Options of {@link createMemoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /**
   * How often expired entries are swept out, in milliseconds (they are also dropped when read).
   * The sweep timer never keeps the process alive. Default 60,000; 0 turns the sweep off.
   */
  readonly sweepIntervalMs?: number;
  /** Clock in milliseconds since the epoch. Default `Date.now`; tests pass a fake one. */
  readonly now?: () => number;
}

interface Entry {
  readonly value: unknown;
  readonly expiresAt: number;
}

const ADAPTER = '@finaegis/memory';

/**
 * The in-process cache store: the reference implementation of the CacheStore port.
 *
 * Values are kept by reference, not copied: a caller that changes an object after `set` (or one
 * returned by `get`) changes the cached value. The query bus caches handler results and never
 * changes them, so copying would only cost time. Nothing is shared between processes.
 */
class MemoryCacheStore implements CacheStore {
  readonly name = 'memory';
  /** One map per namespace: clearing a namespace swaps its map, whatever its size. */
  private readonly namespaces = new Map<string, Map<string, Entry>>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout | undefined;
  private hits = 0;
  private misses = 0;
  private errors = 0;

  constructor(options: MemoryCacheStoreOptions = {}) {
    const now = options.now ?? Date.now;
    if (typeof now !== 'function')
      throw new ConfigError('now', typeof now, 'a function returning ms since the epoch', {
        adapter: ADAPTER,
      });
    this.now = now;
    const interval = options.sweepIntervalMs ?? 60_000;
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0) {
      throw new ConfigError(
        'sweepIntervalMs',
        interval,
        'a number of milliseconds >= 0 (0 turns the sweep off)',
        { adapter: ADAPTER },
      );
    }
    if (interval > 0) {
      this.sweeper = setInterval(() => this.sweep(), interval);
      // A cache is no reason for a process to stay up.
      this.sweeper.unref();
    }
  }

  async get(namespace: string, key: string): Promise<{ readonly value: unknown } | undefined> {
    this.checkNames(namespace, key);
    const entries = this.namespaces.get(namespace);
    const entry = entries?.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    if (entry.expiresAt <= this.now()) {
      entries!.delete(key);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return { value: entry.value };
  }

  async set(namespace: string, key: string, value: unknown, ttlSeconds: number): Promise<void> {
    this.checkNames(namespace, key);
    if (typeof ttlSeconds !== 'number' || !(ttlSeconds > 0) || ttlSeconds === Number.POSITIVE_INFINITY) {
      this.errors++;
      throw new InvalidArgumentError(
        ADAPTER,
        'ttlSeconds',
        `must be a finite number > 0, got ${String(ttlSeconds)}`,
      );
    }
    let entries = this.namespaces.get(namespace);
    if (!entries) {
      entries = new Map();
      this.namespaces.set(namespace, entries);
    }
    entries.set(key, { value, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    this.checkNames(namespace, key);
    const entries = this.namespaces.get(namespace);
    const entry = entries?.get(key);
    if (entry === undefined) return false;
    entries!.delete(key);
    return entry.expiresAt > this.now();
  }

  async clear(namespace: string): Promise<void> {
    if (typeof namespace !== 'string') {
      this.errors++;
      throw new InvalidArgumentError(ADAPTER, 'namespace', 'must be a string');
    }
    this.namespaces.delete(namespace);
  }

  /** Hit, miss and error counters since the store was created. */
  stats(): CacheStats {
    return { hits: this.hits, misses: this.misses, errors: this.errors };
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    let size = 0;
    for (const entries of this.namespaces.values()) size += entries.size;
    return size;
  }

  /** Drops every expired entry now (the timer calls this every `sweepIntervalMs`). */
  sweep(): void {
    const now = this.now();
    for (const [namespace, entries] of this.namespaces) {
      for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
      if (entries.size === 0) this.namespaces.delete(namespace);
    }
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private checkNames(namespace: string, key: string): void {
    if (typeof namespace !== 'string') {
      this.errors++;
      throw new InvalidArgumentError(ADAPTER, 'namespace', 'must be a string');
    }
    if (typeof key !== 'string') {
      this.errors++;
      throw new InvalidArgumentError(ADAPTER, 'key', 'must be a string');
    }
  }
}

/** Creates an in-memory cache store (see {@link MemoryCacheStore}). */
export function createMemoryCacheStore(options: MemoryCacheStoreOptions = {}): MemoryCacheStore {
  return new MemoryCacheStore(options);
}

export type { MemoryCacheStore };

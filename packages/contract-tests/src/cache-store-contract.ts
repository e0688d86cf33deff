import type { CacheStore } from '@finaegis/core';
import { ContractTestError } from './errors/contract-test-error';
import { assemble, type ContractGroup, defineTests, TestScope } from './registration';
import { type ContractRunner, report, stressFactor, uniqueName, waitFor } from './runner';

/** How the suite reaches the cache store under test. */
export interface CacheStoreHarness {
  /** Shown in test names, e.g. `memory`, `keyv-redis`. */
  readonly name: string;
  /** A fresh store. Stores made by one harness may share a backend: every test uses its own namespaces. */
  create(): Promise<CacheStore>;
  readonly tolerances?: {
    /** How long after its TTL an entry may still be read, in milliseconds. Default 1,500. */
    readonly ttlLateMs?: number;
    /** Time limit of each test. Default 60,000. */
    readonly testTimeoutMs?: number;
  };
  /** Multiplies the counts of the concurrency tests. Default: env `STRESS`, else 1. */
  readonly stress?: number;
  /**
   * Optional capabilities the stores declare. `singleFlight: true`: every store made by `create()`
   * offers `CacheStore.singleFlight`, and stores made by one harness share its leases (as processes
   * sharing a backend do); the `singleFlight` group is registered only then. Give the stores a short
   * `leaseMs` (about 500): one test waits for a lease to expire.
   */
  readonly features?: { readonly singleFlight?: boolean };
}

/** Registers one group of the cache store contract. */
export type CacheStoreContractGroup = ContractGroup<CacheStoreHarness>;

class Scope extends TestScope {
  readonly namespace = uniqueName('contract');
  private namespaces = 0;

  constructor(private readonly harness: CacheStoreHarness) {
    super();
  }

  async store(): Promise<CacheStore> {
    return this.opened(await this.harness.create());
  }

  /** Another namespace of this test. */
  other(suffix?: string): string {
    this.namespaces++;
    return suffix === undefined ? `${this.namespace}-n${this.namespaces}` : `${this.namespace}${suffix}`;
  }
}

function define(runner: ContractRunner, harness: CacheStoreHarness) {
  return defineTests(runner, harness.tolerances?.testTimeoutMs ?? 60_000, () => new Scope(harness));
}

const basics: CacheStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  runner.describe('get, set, delete', () => {
    test('a key never set is a miss (undefined)', async (scope) => {
      const store = await scope.store();
      expect(await store.get(scope.namespace, 'absent')).toBeUndefined();
    });

    test('set then get returns the value, wrapped', async (scope) => {
      const store = await scope.store();
      const value = { orderId: 'o-1', amount: '0.00010000', fills: [{ price: '42000.5', qty: '0.1' }] };
      await store.set(scope.namespace, 'order', value, 60);
      expect(await store.get(scope.namespace, 'order')).toEqual({ value });
    });

    test('a second set replaces the value', async (scope) => {
      const store = await scope.store();
      await store.set(scope.namespace, 'k', 'first', 60);
      await store.set(scope.namespace, 'k', 'second', 60);
      expect(await store.get(scope.namespace, 'k')).toEqual({ value: 'second' });
    });

    test('delete removes one entry, says whether it existed, and leaves the others', async (scope) => {
      const store = await scope.store();
      await store.set(scope.namespace, 'a', 1, 60);
      await store.set(scope.namespace, 'b', 2, 60);
      expect(await store.delete(scope.namespace, 'a')).toBe(true);
      expect(await store.delete(scope.namespace, 'a')).toBe(false);
      expect(await store.delete(scope.namespace, 'never')).toBe(false);
      expect(await store.get(scope.namespace, 'a')).toBeUndefined();
      expect(await store.get(scope.namespace, 'b')).toEqual({ value: 2 });
    });

    test('close is idempotent', async (scope) => {
      const store = await scope.store();
      await store.set(scope.namespace, 'k', 1, 60);
      await store.close();
      await store.close();
      expect(typeof store.name).toBe('string');
    });
  });
};

const values: CacheStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  runner.describe('values', () => {
    test('falsy values are hits: 0, empty string, false, null', async (scope) => {
      const store = await scope.store();
      const falsy: Array<[string, unknown]> = [
        ['zero', 0],
        ['empty', ''],
        ['false', false],
        ['null', null],
      ];
      for (const [key, value] of falsy) await store.set(scope.namespace, key, value, 60);
      for (const [key, value] of falsy) expect(await store.get(scope.namespace, key)).toEqual({ value });
    });

    test('a cached undefined is a hit, told apart from a miss', async (scope) => {
      const store = await scope.store();
      await store.set(scope.namespace, 'nothing', undefined, 60);
      const hit = await store.get(scope.namespace, 'nothing');
      expect(hit).toBeDefined();
      expect(hit === undefined ? 'miss' : 'value' in hit ? 'hit' : 'hit without value').toBe('hit');
      expect(hit?.value).toBeUndefined();
      expect(await store.get(scope.namespace, 'missing')).toBeUndefined();
    });

    test('large values round trip (1 MiB string, 10,000-element array)', async (scope) => {
      const store = await scope.store();
      const text = 'ż'.repeat(512 * 1024);
      const list = Array.from({ length: 10_000 }, (_, i) => ({ i, id: `id-${i}`, even: i % 2 === 0 }));
      await store.set(scope.namespace, 'text', text, 60);
      await store.set(scope.namespace, 'list', list, 60);
      const gotText = await store.get(scope.namespace, 'text');
      expect((gotText?.value as string | undefined)?.length).toBe(text.length);
      expect(gotText?.value === text).toBe(true);
      expect(await store.get(scope.namespace, 'list')).toEqual({ value: list });
    });

    test('nested JSON values round trip unchanged', async (scope) => {
      const store = await scope.store();
      const value = {
        text: 'Zażółć gęślą jaźń — 価格 💶',
        numbers: [0, -1, 1.5, 12345678901234],
        nested: { deep: { deeper: [null, true, false, '', {}] } },
      };
      await store.set(scope.namespace, 'nested', value, 60);
      expect(await store.get(scope.namespace, 'nested')).toEqual({ value });
    });

    test('unicode and punctuation in keys and namespaces; similar keys stay distinct', async (scope) => {
      const store = await scope.store();
      const namespace = scope.other(':名前空間/🔑');
      const keys = ['ключ', 'ключ ', 'Ключ', '🔑:a:b', 'a:b', 'a', 'a*', '?[x]', '', 'line\nbreak'];
      for (const [i, key] of keys.entries()) await store.set(namespace, key, i, 60);
      for (const [i, key] of keys.entries()) expect(await store.get(namespace, key)).toEqual({ value: i });
      expect(await store.get(scope.namespace, 'a')).toBeUndefined();
    });
  });
};

const ttl: CacheStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const lateMs = harness.tolerances?.ttlLateMs ?? 1_500;
  runner.describe('ttl', () => {
    test('an entry is a hit within its TTL and a miss after it', async (scope) => {
      const store = await scope.store();
      await store.set(scope.namespace, 'short', 'value', 1);
      await store.set(scope.namespace, 'long', 'value', 3_600);
      expect(await store.get(scope.namespace, 'short')).toEqual({ value: 'value' });
      await waitFor(
        async () => (await store.get(scope.namespace, 'short')) === undefined,
        'the 1 s entry to expire',
        1_000 + lateMs,
      );
      expect(await store.get(scope.namespace, 'short')).toBeUndefined();
      expect(await store.get(scope.namespace, 'long')).toEqual({ value: 'value' });
    });

    test('a set restarts the TTL', async (scope) => {
      const store = await scope.store();
      await store.set(scope.namespace, 'k', 'old', 1);
      await store.set(scope.namespace, 'k', 'new', 3_600);
      await new Promise((resolve) => setTimeout(resolve, 1_000 + lateMs));
      expect(await store.get(scope.namespace, 'k')).toEqual({ value: 'new' });
    });
  });
};

const namespaces: CacheStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  runner.describe('namespaces', () => {
    test('the same key in two namespaces holds two values', async (scope) => {
      const store = await scope.store();
      const other = scope.other();
      await store.set(scope.namespace, 'k', 'mine', 60);
      await store.set(other, 'k', 'theirs', 60);
      expect(await store.get(scope.namespace, 'k')).toEqual({ value: 'mine' });
      expect(await store.get(other, 'k')).toEqual({ value: 'theirs' });
      expect(await store.delete(other, 'k')).toBe(true);
      expect(await store.get(scope.namespace, 'k')).toEqual({ value: 'mine' });
    });

    test('clear makes every entry of the namespace a miss, and only of that namespace', async (scope) => {
      const store = await scope.store();
      const longer = scope.other(':sub');
      const sibling = scope.other();
      for (let i = 0; i < 50; i++) await store.set(scope.namespace, `k${i}`, i, 60);
      await store.set(longer, 'k1', 'longer', 60);
      await store.set(sibling, 'k1', 'sibling', 60);
      await store.clear(scope.namespace);
      for (let i = 0; i < 50; i++) expect(await store.get(scope.namespace, `k${i}`)).toBeUndefined();
      expect(await store.get(longer, 'k1')).toEqual({ value: 'longer' });
      expect(await store.get(sibling, 'k1')).toEqual({ value: 'sibling' });
    });

    test('a namespace works again after clear, and clearing an empty namespace is fine', async (scope) => {
      const store = await scope.store();
      await store.set(scope.namespace, 'k', 'before', 60);
      await store.clear(scope.namespace);
      await store.set(scope.namespace, 'k', 'after', 60);
      expect(await store.get(scope.namespace, 'k')).toEqual({ value: 'after' });
      await store.clear(scope.other());
      expect(await store.get(scope.namespace, 'k')).toEqual({ value: 'after' });
    });
  });
};

const concurrency: CacheStoreContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const factor = stressFactor(harness.stress);
  runner.describe('concurrency', () => {
    test('concurrent writers of distinct keys all land', async (scope) => {
      const store = await scope.store();
      const count = Math.round(200 * factor);
      await Promise.all(Array.from({ length: count }, (_, i) => store.set(scope.namespace, `k${i}`, i, 60)));
      const got = await Promise.all(
        Array.from({ length: count }, (_, i) => store.get(scope.namespace, `k${i}`)),
      );
      expect(got).toEqual(Array.from({ length: count }, (_, i) => ({ value: i })));
    });

    test('concurrent writers of one key leave one of the written values', async (scope) => {
      const store = await scope.store();
      const count = Math.round(50 * factor);
      const written = Array.from({ length: count }, (_, i) => `value-${i}`);
      await Promise.all(written.map((value) => store.set(scope.namespace, 'contended', value, 60)));
      const got = await store.get(scope.namespace, 'contended');
      expect(written).toContain(got?.value);
    });
  });
};

const singleFlight: CacheStoreContractGroup = (runner, harness) => {
  if (harness.features?.singleFlight !== true) return;
  const test = define(runner, harness);
  const { expect } = runner;
  const factor = stressFactor(harness.stress);
  const leasesOf = async (scope: Scope) => {
    const store = await scope.store();
    const leases = store.singleFlight;
    if (leases === undefined)
      throw new ContractTestError(`${harness.name}: declares singleFlight but the store has none`);
    return leases;
  };
  runner.describe('singleFlight (declared)', () => {
    test('the store offers leases with a positive lease time and poll interval', async (scope) => {
      const leases = await leasesOf(scope);
      expect(leases.leaseMs).toBeGreaterThan(0);
      expect(leases.pollMs).toBeGreaterThan(0);
      expect(leases.pollMs < leases.leaseMs).toBe(true);
    });

    test('a held lease is refused to another holder until it is released', async (scope) => {
      const first = await leasesOf(scope);
      const second = await leasesOf(scope);
      const token = await first.acquire(scope.namespace, 'k');
      expect(typeof token).toBe('string');
      expect(await second.acquire(scope.namespace, 'k')).toBeUndefined();
      expect(await first.acquire(scope.namespace, 'k')).toBeUndefined();
      await first.release(scope.namespace, 'k', token!);
      const next = await second.acquire(scope.namespace, 'k');
      expect(typeof next).toBe('string');
      expect(next).not.toBe(token);
      await second.release(scope.namespace, 'k', next!);
      await second.release(scope.namespace, 'k', next!);
    });

    test('leases of other keys and namespaces are independent', async (scope) => {
      const leases = await leasesOf(scope);
      const other = scope.other();
      expect(await leases.acquire(scope.namespace, 'a')).toBeDefined();
      expect(await leases.acquire(scope.namespace, 'b')).toBeDefined();
      expect(await leases.acquire(other, 'a')).toBeDefined();
    });

    test('an unreleased lease expires after leaseMs and can be taken over', async (scope) => {
      const first = await leasesOf(scope);
      const second = await leasesOf(scope);
      const dead = await first.acquire(scope.namespace, 'k');
      expect(dead).toBeDefined();
      expect(await second.acquire(scope.namespace, 'k')).toBeUndefined();
      const started = Date.now();
      let taken: string | undefined;
      await waitFor(
        async () => {
          taken = await second.acquire(scope.namespace, 'k');
          return taken !== undefined;
        },
        'the expired lease to be taken over',
        first.leaseMs + (harness.tolerances?.ttlLateMs ?? 1_500),
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(first.leaseMs * 0.5);
      // The old holder's late release leaves the new lease alone.
      await first.release(scope.namespace, 'k', dead!);
      expect(await first.acquire(scope.namespace, 'k')).toBeUndefined();
      await second.release(scope.namespace, 'k', taken!);
    });

    test('of many concurrent acquirers of one key exactly one gets the lease', async (scope) => {
      const stores = await Promise.all([leasesOf(scope), leasesOf(scope), leasesOf(scope)]);
      const count = Math.round(60 * factor);
      const tokens = await Promise.all(
        Array.from({ length: count }, (_, i) => stores[i % stores.length]!.acquire(scope.namespace, 'hot')),
      );
      expect(tokens.filter((token) => token !== undefined)).toHaveLength(1);
    });
  });
};

const GROUPS = { basics, values, ttl, namespaces, concurrency, singleFlight } as const;

/** Names of the groups `cacheStoreContract` runs; each is also `cacheStoreContract.<name>`. */
export type CacheStoreContractGroupName = keyof typeof GROUPS;

/**
 * Registers the whole cache store contract for an adapter. Each group can also run alone, e.g.
 * `cacheStoreContract.ttl(runner, harness)`.
 */
export const cacheStoreContract: ((runner: ContractRunner, harness: CacheStoreHarness) => void) &
  Readonly<Record<CacheStoreContractGroupName, CacheStoreContractGroup>> = assemble(
  (harness: CacheStoreHarness) => `${harness.name} cache store`,
  GROUPS,
  (harness) =>
    report(`${harness.name} cache store: running every group (stress ×${stressFactor(harness.stress)})`),
);

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type ContractRunner,
  cacheStoreContract,
  checkpointStoreContract,
  type TransactionManagerHarness,
  type TransportHarness,
  transactionManagerContract,
  transportContract,
} from '@finaegis/contract-tests';
import type { TransportFeatures } from '@finaegis/core';
import { afterEach, describe, expect, test, vi } from 'vitest';

/** A runner that records what a suite registers instead of running it. */
function recorder(): { runner: ContractRunner; names: string[]; timeouts: Array<number | undefined> } {
  const names: string[] = [];
  const timeouts: Array<number | undefined> = [];
  const path: string[] = [];
  const runner: ContractRunner = {
    describe(name, body) {
      path.push(name);
      body();
      path.pop();
    },
    test(name, _body, timeout) {
      names.push([...path, name].join(' > '));
      timeouts.push(timeout);
    },
    expect,
  };
  return { runner, names, timeouts };
}

const ALL_ON: TransportFeatures = {
  delay: true,
  priority: true,
  orderingByKey: true,
  consumerGroups: true,
  deadLetter: true,
  dedupe: true,
  persistent: true,
  depth: true,
};

function harness(features: Partial<TransportFeatures>): TransportHarness {
  return {
    name: 'fake',
    features: { ...ALL_ON, ...features },
    create: async () => {
      throw new Error('not used: the recorder never runs a test');
    },
    restartBroker: async () => {},
  };
}

/** A runner that keeps the test bodies a suite registers, to run one by hand. */
function keeper(): { runner: ContractRunner; bodies: Array<() => Promise<void>> } {
  const bodies: Array<() => Promise<void>> = [];
  const runner: ContractRunner = {
    describe: (_name, body) => body(),
    test: (_name, body) => void bodies.push(body),
    expect,
  };
  return { runner, bodies };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('transportContract registration', () => {
  test('every group is exported on its own and the whole suite registers them all', () => {
    const groups = [
      'features',
      'delivery',
      'groups',
      'ordering',
      'retries',
      'deadLetter',
      'decoding',
      'delay',
      'priority',
      'crash',
      'close',
      'dedupe',
      'depth',
      'input',
      'afterClose',
      'concurrency',
      'reconnect',
    ] as const;
    const whole = recorder();
    vi.spyOn(console, 'info').mockImplementation(() => {});
    transportContract(whole.runner, harness({}));
    let sum = 0;
    for (const group of groups) {
      const alone = recorder();
      transportContract[group](alone.runner, harness({}));
      expect(alone.names.length).toBeGreaterThan(0);
      sum += alone.names.length;
    }
    expect(whole.names).toHaveLength(sum);
    expect(whole.names.every((name) => name.startsWith('fake transport contract > '))).toBe(true);
    // The reconnect test adds twice its reconnect tolerance (90 s) to the usual limit.
    expect(new Set(whole.timeouts)).toEqual(new Set([120_000, 300_000]));
  });

  test('the reconnect group is registered only when the harness can restart the broker, and the suite says so', () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const able = recorder();
    transportContract.reconnect(able.runner, harness({}));
    expect(able.names).toHaveLength(1);
    expect(able.names[0]).toMatch(/^reconnect > a consumer resumes after the broker restarts/);
    const { restartBroker: _, ...withoutRestart } = harness({});
    const unable = recorder();
    transportContract(unable.runner, withoutRestart);
    expect(unable.names.some((name) => name.includes(' > reconnect > '))).toBe(false);
    const printed = info.mock.calls.map((call) => String(call[0]));
    expect(printed.some((line) => line.includes('fake harness has no restartBroker(); not registered'))).toBe(
      true,
    );
  });

  test('after close, every method of the port has its own test, whatever the features declared', () => {
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const none = recorder();
    transportContract.afterClose(
      none.runner,
      harness({ deadLetter: false, depth: false, delay: false, priority: false, dedupe: false }),
    );
    for (const method of ['send', 'consume', 'deadLetters', 'redrive', 'depth']) {
      expect(none.names).toContain(
        `after close > ${method}() after close() rejects with TransportClosedError, whatever the features declared`,
      );
    }
  });

  test('tests of a feature declared off are not registered, and the suite says so', () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const all = recorder();
    transportContract(all.runner, harness({}));
    const some = recorder();
    transportContract(some.runner, harness({ priority: false, dedupe: false, orderingByKey: false }));
    const missing = all.names.filter((name) => !some.names.includes(name));
    expect(missing.some((name) => name.includes('highest priority first'))).toBe(true);
    expect(missing.some((name) => name.includes('dedupe id sent twice'))).toBe(true);
    expect(missing.some((name) => name.includes('same key'))).toBe(true);
    expect(missing).toHaveLength(3);
    // Declared off, the options must be refused instead: those tests appear.
    const added = some.names.filter((name) => !all.names.includes(name));
    expect(added.map((name) => name.split(' > ').at(-1))).toEqual([
      'a send asking for priority, declared off, is refused with UnsupportedFeatureError',
      'a send asking for dedupe, declared off, is refused with UnsupportedFeatureError',
    ]);
    const printed = info.mock.calls.map((call) => String(call[0]));
    expect(printed).toContain(
      '[@finaegis/contract-tests] fake transport: features declared off: priority, orderingByKey, dedupe (stress ×1)',
    );
    expect(printed.some((line) => line.includes('declares priority off; not registered'))).toBe(true);
  });

  test('a harness without crash() fails the crash test with a message saying so', async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const { runner, bodies } = keeper();
    transportContract.crash(runner, harness({}));
    expect(bodies).toHaveLength(1);
    await expect(bodies[0]!()).rejects.toThrow('the fake harness needs crash() for this test');
  });
});

describe('cacheStoreContract registration', () => {
  test('groups run alone or together', () => {
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const whole = recorder();
    cacheStoreContract(whole.runner, { name: 'x', create: async () => Promise.reject(new Error('unused')) });
    let sum = 0;
    for (const group of ['basics', 'values', 'ttl', 'namespaces', 'concurrency'] as const) {
      const alone = recorder();
      cacheStoreContract[group](alone.runner, {
        name: 'x',
        create: async () => Promise.reject(new Error('unused')),
      });
      sum += alone.names.length;
    }
    expect(whole.names).toHaveLength(sum);
    expect(sum).toBeGreaterThanOrEqual(15);
  });

  test('the singleFlight group is registered only when the harness declares it', () => {
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const create = async () => Promise.reject(new Error('unused'));
    const undeclared = recorder();
    cacheStoreContract.singleFlight(undeclared.runner, { name: 'x', create });
    expect(undeclared.names).toHaveLength(0);
    const declared = recorder();
    cacheStoreContract.singleFlight(declared.runner, { name: 'x', create, features: { singleFlight: true } });
    expect(declared.names.length).toBeGreaterThanOrEqual(4);
    const whole = recorder();
    cacheStoreContract(whole.runner, { name: 'x', create, features: { singleFlight: true } });
    const plain = recorder();
    cacheStoreContract(plain.runner, { name: 'x', create });
    expect(whole.names).toHaveLength(plain.names.length + declared.names.length);
  });
});

function transactionHarness(features: TransactionManagerHarness['features']): TransactionManagerHarness {
  const unused = async () => Promise.reject(new Error('unused: the recorder never runs a test'));
  return {
    name: 'fake',
    features,
    create: unused,
    probe: { write: unused, read: unused, readIn: unused },
  };
}

describe('transactionManagerContract registration', () => {
  test('groups run alone or together', () => {
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const harness = transactionHarness({ savepoint: true, outbox: true });
    const whole = recorder();
    transactionManagerContract(whole.runner, harness);
    let sum = 0;
    for (const group of [
      'features',
      'basics',
      'timeouts',
      'isolation',
      'savepoints',
      'outbox',
      'ending',
    ] as const) {
      const alone = recorder();
      transactionManagerContract[group](alone.runner, harness);
      expect(alone.names.length).toBeGreaterThan(0);
      sum += alone.names.length;
    }
    expect(whole.names).toHaveLength(sum);
    expect(whole.names.every((name) => name.startsWith('fake transaction manager contract > '))).toBe(true);
  });

  test('the tests of savepoint and outbox, declared off, are not registered, and the suite says so', () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const all = recorder();
    transactionManagerContract(all.runner, transactionHarness({ savepoint: true, outbox: true }));
    const none = recorder();
    transactionManagerContract(none.runner, transactionHarness({ savepoint: false, outbox: false }));
    const missing = all.names.filter((name) => !none.names.includes(name));
    expect(missing.filter((name) => name.includes(' > savepoints > ')).length).toBeGreaterThanOrEqual(6);
    expect(missing.filter((name) => name.includes(' > outbox > ')).length).toBe(3);
    expect(
      none.names.some((name) => name.includes(' > savepoints > ') || name.includes(' > outbox > ')),
    ).toBe(false);
    const printed = info.mock.calls.map((call) => String(call[0]));
    expect(printed).toContain(
      '[@finaegis/contract-tests] fake transaction manager: features declared off: savepoint, outbox',
    );
  });

  test('a harness declaring outbox without sent() fails the outbox tests with a message saying so', async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const { runner, bodies } = keeper();
    const harness = transactionHarness({ savepoint: false, outbox: true });
    const closed: string[] = [];
    transactionManagerContract.outbox(runner, {
      ...harness,
      create: async () => ({
        name: 'fake',
        run: (work) =>
          work({
            id: 'tx-1',
            signal: new AbortController().signal,
            client: undefined,
            enqueue: async () => {},
          }),
        close: async () => void closed.push('closed'),
      }),
    });
    expect(bodies.length).toBeGreaterThan(0);
    await expect(bodies[0]!()).rejects.toThrow('the fake harness needs sent() for this test');
    expect(closed).toEqual(['closed']);
  });
});

describe('checkpointStoreContract registration', () => {
  test('the transactions group is registered only with a transaction manager', () => {
    const unused = async () => Promise.reject(new Error('unused'));
    const without = recorder();
    checkpointStoreContract(without.runner, { name: 'x', create: unused });
    const withManager = recorder();
    checkpointStoreContract(withManager.runner, {
      name: 'x',
      create: unused,
      transactions: { create: unused, savepoint: true },
    });
    const added = withManager.names.filter((name) => !without.names.includes(name));
    expect(added.every((name) => name.startsWith('x checkpoint store contract > in a transaction > '))).toBe(
      true,
    );
    expect(added).toHaveLength(3);
    expect(without.names.length).toBeGreaterThanOrEqual(6);
  });
});

describe('README', () => {
  test('shows the example test file as it is', () => {
    const dir = resolve(import.meta.dirname, '..');
    const readme = readFileSync(resolve(dir, 'README.md'), 'utf8');
    const example = readFileSync(resolve(dir, 'test/readme-example.test.ts'), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  test("shows @finaegis/postgres's transaction manager harness, with its probe, as it is", () => {
    const dir = resolve(import.meta.dirname, '..');
    const readme = readFileSync(resolve(dir, 'README.md'), 'utf8');
    const harnessFile = readFileSync(resolve(dir, '../postgres/test/contract.test.ts'), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${harnessFile}\`\`\``);
  });

  test("shows @finaegis/memory's transport harness as it is", () => {
    const dir = resolve(import.meta.dirname, '..');
    const readme = readFileSync(resolve(dir, 'README.md'), 'utf8');
    const harnessFile = readFileSync(resolve(dir, '../memory/test/contract.test.ts'), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${harnessFile}\`\`\``);
  });
});

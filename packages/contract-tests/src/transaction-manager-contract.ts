import {
  type TransactionContext,
  type TransactionManager,
  TransactionTimeoutError,
  type TransportMessage,
  UnitOfWorkError,
} from '@finaegis/core';
import { ContractTestError } from './errors/contract-test-error';
import { PlannedFailure } from './errors/planned-failure';
import {
  assemble,
  type ContractGroup,
  defineTests,
  featuresOff,
  rejectionOf,
  requireHook,
  TestScope,
} from './registration';
import { type ContractRunner, gate, report, sleep, uniqueName, waitFor } from './runner';

/**
 * How the suite sees what a transaction wrote, whatever the adapter stores. Keys are strings the
 * suite makes unique per test; values are integers ≥ 1, and a key never written (or whose write
 * was undone) reads as 0, so a checkpoint store can back a probe as well as a table.
 *
 * The suite calls `write` and `readIn` from inside the work of `tx` (the transaction's or a
 * savepoint's), so a probe may find the transaction through `tx` or through async context.
 */
export interface TransactionProbe {
  /** Writes `value` under `key` as part of `tx` (through the adapter's own store, or `tx.client`). */
  write(tx: TransactionContext, key: string, value: number): Promise<void>;
  /** The committed value under `key`, as another process sees it, from whatever context it is called. */
  read(key: string): Promise<number>;
  /** The value under `key` as `tx` sees it: its own uncommitted writes included. */
  readIn(tx: TransactionContext, key: string): Promise<number>;
}

/** What the adapter's transaction contexts offer; tests of a part declared `false` are not registered. */
export interface TransactionManagerFeatures {
  /** `tx.savepoint` (nested transactions). */
  readonly savepoint: boolean;
  /** `tx.enqueue` (an outbox, relayed after commit). */
  readonly outbox: boolean;
}

/** How the suite reaches the transaction manager under test. */
export interface TransactionManagerHarness {
  /** Shown in test names, e.g. `memory`, `postgres`. */
  readonly name: string;
  readonly features: TransactionManagerFeatures;
  /** A fresh manager; the suite closes it after each test. Managers may share a database. */
  create(): Promise<TransactionManager>;
  readonly probe: TransactionProbe;
  /**
   * For `outbox`: the messages the adapter's relay has sent on `channel` so far, in send order.
   * The harness runs the relay (started before the suite, stopped after it).
   */
  sent?(channel: string): Promise<readonly TransportMessage[]>;
  readonly tolerances?: {
    /** The timeout of the transactions that must time out, in milliseconds. Default 300. */
    readonly timeoutMs?: number;
    /** Longest wait for something that must happen (a relayed message). Default 10,000. */
    readonly waitMs?: number;
    /** How long to watch for something that must not happen (an early send). Default 200. */
    readonly settleMs?: number;
    /** Time limit of each test. Default 60,000. */
    readonly testTimeoutMs?: number;
  };
}

/** Registers one group of the transaction manager contract. */
export type TransactionManagerContractGroup = ContractGroup<TransactionManagerHarness>;

// Long enough for any test's work; the timeout tests use the harness's short one.
const RUN = { timeoutMs: 30_000 } as const;

class Scope extends TestScope {
  readonly prefix = uniqueName('contract-tx');
  private keys = 0;

  constructor(readonly harness: TransactionManagerHarness) {
    super();
  }

  async manager(): Promise<TransactionManager> {
    return this.opened(await this.harness.create());
  }

  /** A probe key of this test. */
  key(label = 'k'): string {
    this.keys++;
    return `${this.prefix}-${label}-${this.keys}`;
  }
}

function define(runner: ContractRunner, harness: TransactionManagerHarness) {
  return defineTests(runner, harness.tolerances?.testTimeoutMs ?? 60_000, () => new Scope(harness));
}

/** Asserts `value` is a `type`, showing what it was instead when it is not. */
function expectInstance(
  expect: ContractRunner['expect'],
  value: unknown,
  type: abstract new (...args: never[]) => unknown,
): void {
  const seen =
    value instanceof type
      ? type.name
      : value instanceof Error
        ? `${value.name}: ${value.message}`
        : String(value);
  expect(seen).toBe(type.name);
}

/** Calls the context's savepoint, which the features say it has. */
function savepointOf(tx: TransactionContext): NonNullable<TransactionContext['savepoint']> {
  if (typeof tx.savepoint !== 'function') {
    throw new ContractTestError('the harness declares savepoint, but the context has none');
  }
  return tx.savepoint.bind(tx);
}

const basics: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const { probe } = harness;
  runner.describe('commit and rollback', () => {
    test('a resolved work commits: nobody sees its writes before, everybody after', async (scope) => {
      const manager = await scope.manager();
      const key = scope.key();
      const result = await manager.run(async (tx) => {
        expect(typeof tx.id).toBe('string');
        expect(tx.signal.aborted).toBe(false);
        await probe.write(tx, key, 7);
        expect(await probe.readIn(tx, key)).toBe(7);
        expect(await probe.read(key)).toBe(0);
        return 'done';
      }, RUN);
      expect(result).toBe('done');
      expect(await probe.read(key)).toBe(7);
    });

    test('a rejected work rolls back, rethrows its own error and aborts the signal', async (scope) => {
      const manager = await scope.manager();
      const key = scope.key();
      const failure = new PlannedFailure('the work failed');
      let signal: AbortSignal | undefined;
      const error = await rejectionOf(
        manager.run(async (tx) => {
          signal = tx.signal;
          await probe.write(tx, key, 1);
          throw failure;
        }, RUN),
      );
      expect(error).toBe(failure);
      expect(signal?.aborted).toBe(true);
      expect(await probe.read(key)).toBe(0);
    });

    test('a work that throws before returning a promise rolls back too', async (scope) => {
      const manager = await scope.manager();
      const failure = new PlannedFailure('thrown at once');
      const error = await rejectionOf(
        manager.run(() => {
          throw failure;
        }, RUN),
      );
      expect(error).toBe(failure);
    });

    test('each run has its own context with its own id', async (scope) => {
      const manager = await scope.manager();
      const ids = await Promise.all([1, 2, 3].map(() => manager.run(async (tx) => tx.id, RUN)));
      expect(new Set(ids).size).toBe(3);
    });
  });
};

const timeouts: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const { probe } = harness;
  const timeoutMs = harness.tolerances?.timeoutMs ?? 300;
  const waitMs = harness.tolerances?.waitMs ?? 10_000;
  runner.describe('timeout', () => {
    test('work that outlives the timeout ends in TransactionTimeoutError, aborts the signal, and nothing of it lands, not even later writes', async (scope) => {
      const manager = await scope.manager();
      const before = scope.key('before');
      const late = scope.key('late');
      let signal: AbortSignal | undefined;
      let lateWrite: Promise<unknown> | undefined;
      const started = Date.now();
      const error = await rejectionOf(
        manager.run(
          async (tx) => {
            signal = tx.signal;
            await probe.write(tx, before, 1);
            // Work that does not watch the signal, then writes again once its time is up.
            await new Promise((resolve) => tx.signal.addEventListener('abort', resolve, { once: true }));
            lateWrite = probe.write(tx, late, 2);
            await lateWrite;
          },
          { timeoutMs },
        ),
      );
      expectInstance(expect, error, TransactionTimeoutError);
      expect((error as TransactionTimeoutError).timeoutMs).toBeGreaterThanOrEqual(timeoutMs);
      expect(Date.now() - started).toBeGreaterThanOrEqual(timeoutMs - 5);
      expect(signal?.aborted).toBe(true);
      await waitFor(() => lateWrite !== undefined, 'the late write to start', waitMs);
      await Promise.race([lateWrite!.catch(() => undefined), sleep(waitMs)]);
      expect(await probe.read(before)).toBe(0);
      expect(await probe.read(late)).toBe(0);
    });
  });
};

const isolation: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const { probe } = harness;
  runner.describe('isolation', () => {
    test('concurrent transactions do not see each other’s uncommitted writes, and both commit', async (scope) => {
      const manager = await scope.manager();
      const first = scope.key('first');
      const second = scope.key('second');
      const firstWrote = gate();
      const secondChecked = gate();
      const one = manager.run(async (tx) => {
        await probe.write(tx, first, 1);
        firstWrote.open();
        await secondChecked.promise;
        expect(await probe.readIn(tx, second)).toBe(0);
      }, RUN);
      const two = manager.run(async (tx) => {
        await firstWrote.promise;
        expect(await probe.readIn(tx, first)).toBe(0);
        await probe.write(tx, second, 2);
        secondChecked.open();
      }, RUN);
      await Promise.all([one, two]);
      expect(await probe.read(first)).toBe(1);
      expect(await probe.read(second)).toBe(2);
    });

    test('a transaction rolling back does not undo a concurrent one', async (scope) => {
      const manager = await scope.manager();
      const kept = scope.key('kept');
      const dropped = scope.key('dropped');
      const bothWrote = [gate(), gate()] as const;
      const failing = manager.run(async (tx) => {
        await probe.write(tx, dropped, 1);
        bothWrote[0].open();
        await bothWrote[1].promise;
        throw new PlannedFailure('rolls back');
      }, RUN);
      const committing = manager.run(async (tx) => {
        await probe.write(tx, kept, 2);
        bothWrote[1].open();
        await bothWrote[0].promise;
      }, RUN);
      expectInstance(expect, await rejectionOf(failing), PlannedFailure);
      await committing;
      expect(await probe.read(kept)).toBe(2);
      expect(await probe.read(dropped)).toBe(0);
    });
  });
};

const savepoints: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const { probe } = harness;
  if (!harness.features.savepoint) {
    report(
      `${harness.name} transaction manager: declares savepoint off; nested transaction tests not registered`,
    );
    return;
  }
  runner.describe('savepoints', () => {
    test('a nested context has the same signal and client, its own id, and a savepoint of its own', async (scope) => {
      const manager = await scope.manager();
      await manager.run(async (tx) => {
        await savepointOf(tx)(async (nested) => {
          expect(nested.signal).toBe(tx.signal);
          expect(nested.client).toBe(tx.client);
          expect(nested.id).not.toBe(tx.id);
          expect(typeof nested.savepoint).toBe('function');
        });
      }, RUN);
    });

    test('a failed nested work is undone and its error rethrown; the outer commits what it did before and after', async (scope) => {
      const manager = await scope.manager();
      const [before, overwritten, inner, after] = [
        scope.key('before'),
        scope.key('overwritten'),
        scope.key('inner'),
        scope.key('after'),
      ];
      const failure = new PlannedFailure('nested failed');
      await manager.run(async (tx) => {
        await probe.write(tx, before, 1);
        await probe.write(tx, overwritten, 1);
        const error = await rejectionOf(
          savepointOf(tx)(async (nested) => {
            // The nested work reads what the outer wrote, and its own writes.
            expect(await probe.readIn(nested, before)).toBe(1);
            await probe.write(nested, inner, 2);
            await probe.write(nested, overwritten, 2);
            expect(await probe.readIn(nested, overwritten)).toBe(2);
            throw failure;
          }),
        );
        expect(error).toBe(failure);
        expect(await probe.readIn(tx, inner)).toBe(0);
        expect(await probe.readIn(tx, overwritten)).toBe(1);
        await probe.write(tx, after, 3);
      }, RUN);
      expect(await probe.read(before)).toBe(1);
      expect(await probe.read(overwritten)).toBe(1);
      expect(await probe.read(inner)).toBe(0);
      expect(await probe.read(after)).toBe(3);
    });

    test('a resolved nested work returns its value and commits with the outer', async (scope) => {
      const manager = await scope.manager();
      const inner = scope.key('inner');
      await manager.run(async (tx) => {
        const value = await savepointOf(tx)(async (nested) => {
          await probe.write(nested, inner, 5);
          return 'nested value';
        });
        expect(value).toBe('nested value');
        expect(await probe.readIn(tx, inner)).toBe(5);
        expect(await probe.read(inner)).toBe(0);
      }, RUN);
      expect(await probe.read(inner)).toBe(5);
    });

    test('an outer rollback undoes a resolved nested work', async (scope) => {
      const manager = await scope.manager();
      const inner = scope.key('inner');
      const error = await rejectionOf(
        manager.run(async (tx) => {
          await savepointOf(tx)((nested) => probe.write(nested, inner, 5));
          throw new PlannedFailure('outer failed');
        }, RUN),
      );
      expectInstance(expect, error, PlannedFailure);
      expect(await probe.read(inner)).toBe(0);
    });

    test('savepoints nest: a failed innermost is undone alone, a failed middle undoes what nested in it', async (scope) => {
      const manager = await scope.manager();
      const [outer, middle, innermost, keptInner, droppedMiddle] = [
        scope.key('outer'),
        scope.key('middle'),
        scope.key('innermost'),
        scope.key('kept-inner'),
        scope.key('dropped-middle'),
      ];
      await manager.run(async (tx) => {
        await probe.write(tx, outer, 1);
        await savepointOf(tx)(async (level1) => {
          await probe.write(level1, middle, 2);
          const error = await rejectionOf(
            savepointOf(level1)(async (level2) => {
              expect(await probe.readIn(level2, middle)).toBe(2);
              await probe.write(level2, innermost, 3);
              throw new PlannedFailure('innermost failed');
            }),
          );
          expectInstance(expect, error, PlannedFailure);
          expect(await probe.readIn(level1, innermost)).toBe(0);
          expect(await probe.readIn(level1, middle)).toBe(2);
        });
        const error = await rejectionOf(
          savepointOf(tx)(async (level1) => {
            await probe.write(level1, droppedMiddle, 4);
            await savepointOf(level1)((level2) => probe.write(level2, keptInner, 5));
            throw new PlannedFailure('middle failed after its nested work resolved');
          }),
        );
        expectInstance(expect, error, PlannedFailure);
        expect(await probe.readIn(tx, keptInner)).toBe(0);
      }, RUN);
      expect(await probe.read(outer)).toBe(1);
      expect(await probe.read(middle)).toBe(2);
      expect(await probe.read(innermost)).toBe(0);
      expect(await probe.read(droppedMiddle)).toBe(0);
      expect(await probe.read(keptInner)).toBe(0);
    });

    test('sibling savepoints started together run one after the other; a failing one undoes only its own writes', async (scope) => {
      const manager = await scope.manager();
      const failed = scope.key('failed');
      const kept = scope.key('kept');
      const steps: string[] = [];
      await manager.run(async (tx) => {
        const savepoint = savepointOf(tx);
        const first = savepoint(async (nested) => {
          steps.push('first starts');
          await probe.write(nested, failed, 1);
          // Time for the second to start if it were not held back.
          await sleep(50);
          steps.push('first fails');
          throw new PlannedFailure('first failed');
        });
        const second = savepoint(async (nested) => {
          steps.push('second starts');
          await probe.write(nested, kept, 2);
          steps.push('second ends');
        });
        const [one, two] = await Promise.allSettled([first, second]);
        expect(one.status).toBe('rejected');
        expect(two.status).toBe('fulfilled');
      }, RUN);
      expect(steps).toEqual(['first starts', 'first fails', 'second starts', 'second ends']);
      expect(await probe.read(failed)).toBe(0);
      expect(await probe.read(kept)).toBe(2);
    });
  });
};

const outbox: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const waitMs = harness.tolerances?.waitMs ?? 10_000;
  const settleMs = harness.tolerances?.settleMs ?? 200;
  if (!harness.features.outbox) {
    report(`${harness.name} transaction manager: declares outbox off; outbox tests not registered`);
    return;
  }
  const sentIds = async (channel: string): Promise<string[]> => {
    const sent = requireHook(harness.name, harness.sent?.bind(harness), 'sent()');
    return (await sent(channel)).map((message) => message.id);
  };
  const message = (id: string): TransportMessage => ({
    id,
    type: 'contract.Outboxed',
    body: `{"id":"${id}"}`,
    headers: {},
  });
  const enqueueOf = (tx: TransactionContext): NonNullable<TransactionContext['enqueue']> => {
    if (typeof tx.enqueue !== 'function') {
      throw new ContractTestError('the harness declares outbox, but the context has no enqueue');
    }
    return tx.enqueue.bind(tx);
  };
  runner.describe('outbox', () => {
    test('enqueued messages leave after commit, in enqueue order, and never before', async (scope) => {
      const manager = await scope.manager();
      const channel = uniqueName('contract-outbox');
      const ids = ['m1', 'm2', 'm3', 'm4', 'm5'].map((id) => `${scope.prefix}-${id}`);
      await manager.run(async (tx) => {
        for (const id of ids) await enqueueOf(tx)(channel, message(id));
        await sleep(settleMs);
        expect(await sentIds(channel)).toEqual([]);
      }, RUN);
      await waitFor(
        async () => (await sentIds(channel)).length >= ids.length,
        `${ids.length} messages on ${channel}`,
        waitMs,
      );
      expect(await sentIds(channel)).toEqual(ids);
    });

    test('a rolled-back transaction sends nothing', async (scope) => {
      const manager = await scope.manager();
      const channel = uniqueName('contract-outbox');
      await rejectionOf(
        manager.run(async (tx) => {
          await enqueueOf(tx)(channel, message(`${scope.prefix}-dropped`));
          throw new PlannedFailure('rolled back');
        }, RUN),
      );
      // A later commit on the channel shows the relay is running, and that nothing came before it.
      const marker = `${scope.prefix}-marker`;
      await manager.run(async (tx) => enqueueOf(tx)(channel, message(marker)), RUN);
      await waitFor(async () => (await sentIds(channel)).length > 0, `the marker on ${channel}`, waitMs);
      await sleep(settleMs);
      expect(await sentIds(channel)).toEqual([marker]);
    });

    if (harness.features.savepoint) {
      test('messages enqueued in a failed savepoint are never sent; the others leave in order', async (scope) => {
        const manager = await scope.manager();
        const channel = uniqueName('contract-outbox');
        const id = (label: string) => `${scope.prefix}-${label}`;
        await manager.run(async (tx) => {
          await enqueueOf(tx)(channel, message(id('before')));
          await rejectionOf(
            savepointOf(tx)(async (nested) => {
              await enqueueOf(nested)(channel, message(id('failed-nested')));
              throw new PlannedFailure('nested failed');
            }),
          );
          await savepointOf(tx)((nested) => enqueueOf(nested)(channel, message(id('resolved-nested'))));
          await enqueueOf(tx)(channel, message(id('after')));
        }, RUN);
        const expected = [id('before'), id('resolved-nested'), id('after')];
        await waitFor(
          async () => (await sentIds(channel)).length >= expected.length,
          `3 messages on ${channel}`,
          waitMs,
        );
        await sleep(settleMs);
        expect(await sentIds(channel)).toEqual(expected);
      });
    }
  });
};

const ending: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const { expect } = runner;
  const { features } = harness;
  runner.describe('after the end', () => {
    test('a context whose transaction committed or rolled back refuses savepoint and enqueue with UnitOfWorkError', async (scope) => {
      const manager = await scope.manager();
      const committed = await manager.run(async (tx) => tx, RUN);
      let rolledBack: TransactionContext | undefined;
      await rejectionOf(
        manager.run(async (tx) => {
          rolledBack = tx;
          throw new PlannedFailure('rolled back');
        }, RUN),
      );
      for (const tx of [committed, rolledBack!]) {
        if (features.savepoint) {
          expectInstance(expect, await rejectionOf(savepointOf(tx)(async () => 'late')), UnitOfWorkError);
        }
        if (features.outbox) {
          const message = { id: `${scope.prefix}-late`, type: 'contract.Late', body: '{}', headers: {} };
          expectInstance(
            expect,
            await rejectionOf(tx.enqueue!(uniqueName('contract-late'), message)),
            UnitOfWorkError,
          );
        }
      }
      expect(rolledBack?.signal.aborted).toBe(true);
    });
  });
};

const features: TransactionManagerContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('features', () => {
    test('contexts offer exactly the declared features', async (scope) => {
      const manager = await scope.manager();
      const offered = await manager.run(
        async (tx) => ({
          savepoint: typeof tx.savepoint === 'function',
          outbox: typeof tx.enqueue === 'function',
        }),
        RUN,
      );
      runner
        .expect(offered)
        .toEqual({ savepoint: harness.features.savepoint, outbox: harness.features.outbox });
    });
  });
};

const GROUPS = { features, basics, timeouts, isolation, savepoints, outbox, ending } as const;

/** Names of the groups `transactionManagerContract` runs; each is also `transactionManagerContract.<name>`. */
export type TransactionManagerContractGroupName = keyof typeof GROUPS;

/**
 * Registers the whole transaction manager contract for an adapter: commit, rollback, timeout,
 * isolation, savepoints (`features.savepoint`), the outbox (`features.outbox`) and what a context
 * refuses once its transaction is over. Each group can also run alone, e.g.
 * `transactionManagerContract.savepoints(runner, harness)`.
 */
export const transactionManagerContract: ((
  runner: ContractRunner,
  harness: TransactionManagerHarness,
) => void) &
  Readonly<Record<TransactionManagerContractGroupName, TransactionManagerContractGroup>> = assemble(
  (harness: TransactionManagerHarness) => `${harness.name} transaction manager`,
  GROUPS,
  (harness) => {
    const off = featuresOff(harness.features);
    report(
      `${harness.name} transaction manager: ${off.length === 0 ? 'every group' : `features declared off: ${off.join(', ')}`}`,
    );
  },
);

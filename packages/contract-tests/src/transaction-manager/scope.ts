import type { TransactionContext, TransactionManager } from '@finaegis/core';
import { ContractTestError } from '../errors/contract-test-error';
import { defineTests, TestScope } from '../registration';
import { type ContractRunner, uniqueName } from '../runner';
import type { TransactionManagerHarness } from './harness';

// Long enough for any test's work; the timeout tests use the harness's short one.
export const RUN = { timeoutMs: 30_000 } as const;

export class Scope extends TestScope {
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

export function define(runner: ContractRunner, harness: TransactionManagerHarness) {
  return defineTests(runner, harness.tolerances?.testTimeoutMs ?? 60_000, () => new Scope(harness));
}

/** Asserts `value` is a `type`, showing what it was instead when it is not. */
export function expectInstance(
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
export function savepointOf(tx: TransactionContext): NonNullable<TransactionContext['savepoint']> {
  if (typeof tx.savepoint !== 'function') {
    throw new ContractTestError('the harness declares savepoint, but the context has none');
  }
  return tx.savepoint.bind(tx);
}

import { ContractTestError } from './errors/contract-test-error';
import { type ContractRunner, report } from './runner';

/** Registers one group of a contract. */
export type ContractGroup<Harness> = (runner: ContractRunner, harness: Harness) => void;

/** A whole contract: call it to register every group, or call one group, e.g. `contract.ttl(...)`. */
export type Contract<Harness, Groups extends Record<string, ContractGroup<Harness>>> = ((
  runner: ContractRunner,
  harness: Harness,
) => void) &
  Readonly<Groups>;

/** What a test opened (adapters, managers, stores), closed when it ends, pass or fail. */
export class TestScope {
  private readonly closables: Array<{ close?: () => Promise<void> }> = [];

  /** Keeps `thing` to close at the end of the test when it has a `close()`. */
  protected opened<T>(thing: T): T {
    this.closables.push(thing as { close?: () => Promise<void> });
    return thing;
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.closables.map((closable) => closable.close?.()));
  }
}

/** Registers a test that gets a fresh scope and disposes of it at the end. */
export type DefineTest<Scope> = (name: string, body: (scope: Scope) => Promise<void>) => void;

/** The `test` of a contract: each test gets `open()`'s scope, disposed of whatever happened. */
export function defineTests<Scope extends TestScope>(
  runner: ContractRunner,
  timeoutMs: number,
  open: () => Scope,
): DefineTest<Scope> {
  return (name, body) => {
    runner.test(
      name,
      async () => {
        const scope = open();
        try {
          await body(scope);
        } finally {
          await scope.dispose();
        }
      },
      timeoutMs,
    );
  };
}

/**
 * Assembles a contract from its groups: the returned function registers all of them under
 * `<title> contract` after `announce` (a printed line saying what runs); each group stays callable.
 */
export function assemble<Harness, Groups extends Record<string, ContractGroup<Harness>>>(
  title: (harness: Harness) => string,
  groups: Groups,
  announce?: (harness: Harness) => void,
): Contract<Harness, Groups> {
  const runAll = (runner: ContractRunner, harness: Harness): void => {
    announce?.(harness);
    runner.describe(`${title(harness)} contract`, () => {
      for (const group of Object.values(groups)) group(runner, harness);
    });
  };
  return Object.assign(runAll, groups);
}

/** The names of the features declared `false`, in declaration order. */
export function featuresOff(features: object): string[] {
  return Object.entries(features)
    .filter(([, on]) => on === false)
    .map(([name]) => name);
}

/** Runs `register` only when `on`; otherwise prints which tests were left out and why. */
export function whenDeclared(on: boolean, why: string, names: readonly string[], register: () => void): void {
  if (on) register();
  else report(`${why}; not registered: ${names.join('; ')}`);
}

/** The hook a group needs, or a failure that names it (a contract is never skipped for a missing hook). */
export function requireHook<Hook>(harnessName: string, hook: Hook | undefined, hookName: string): Hook {
  if (hook === undefined) {
    throw new ContractTestError(`the ${harnessName} harness needs ${hookName} for this test`);
  }
  return hook;
}

/** The error `promise` rejects with; fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new ContractTestError('expected the operation to fail, but it succeeded');
}

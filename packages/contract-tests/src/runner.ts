import { ContractTestError } from './errors/contract-test-error';

/**
 * The part of a test runner the suites use, typed structurally so that the package needs no
 * runtime import of vitest: pass `{ describe, test, expect }` from vitest (or a compatible runner).
 */
export interface ContractRunner {
  describe(name: string, body: () => void): void;
  /** `timeout` in milliseconds, as vitest's third argument. */
  test(name: string, body: () => Promise<void>, timeout?: number): void;
  expect(actual: unknown, message?: string): ContractAssertion;
}

/** The matchers the suites call (a subset of vitest's / Jest's `expect`). */
export interface ContractAssertion {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toBeUndefined(): void;
  toBeDefined(): void;
  toBeGreaterThan(expected: number): void;
  toBeGreaterThanOrEqual(expected: number): void;
  toBeLessThanOrEqual(expected: number): void;
  toHaveLength(expected: number): void;
  toContain(expected: unknown): void;
  toMatch(expected: string | RegExp): void;
  readonly not: ContractAssertion;
}

/** Multiplier of the suites' message counts: `harness.stress`, else env `STRESS`, else 1. */
export function stressFactor(declared: number | undefined): number {
  const fromEnv = Number(globalThis.process?.env?.STRESS ?? '');
  const factor = declared ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 1);
  if (!Number.isFinite(factor) || factor <= 0) {
    throw new RangeError(`[@finaegis/contract-tests] stress must be a number > 0, got ${String(factor)}`);
  }
  return factor;
}

/** A unique name for a test's channel, group or namespace: `contract-<random>`. */
export function uniqueName(prefix = 'contract'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36).slice(-4)}`;
}

/**
 * Polls `condition` until it holds. The suites wait for conditions instead of sleeping, so a slow
 * broker only makes them slower, never red.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pause = 2;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) {
      const text = typeof what === 'function' ? what() : what;
      throw new ContractTestError(`gave up after ${timeoutMs} ms waiting for ${text}`);
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve function, for handlers that must block until a test lets them go. */
export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Logs, once per suite registration, what was not registered and why. */
export function report(line: string): void {
  console.info(`[@finaegis/contract-tests] ${line}`);
}

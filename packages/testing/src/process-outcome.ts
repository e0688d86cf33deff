import {
  type Command,
  InvalidArgumentError,
  type MessageClass,
  type ProcessDetails,
  type ProcessManager,
  type ProcessStatus,
} from '@finaegis/core';
import { checkEvents, type ErrorClass, type Like } from './expectations';
import { type Expected, isOf, mismatch, shapedLike, show } from './match';
import type { Snapshot } from './process-run';
import { SpecAssertionError } from './spec-assertion-error';
import type { TestApp } from './test-app';

const ADAPTER = '@finaegis/testing';
const STATUSES: readonly ProcessStatus[] = ['running', 'completed', 'failed', 'compensated'];

/** A command class, as process specs take them. */
export type CommandClass<C extends Command<unknown> = Command<unknown>> = MessageClass<C>;

/** A command a `then…` step expects: an instance (same class, same fields) or a `like(...)`. */
export type ExpectedCommand<C extends CommandClass> = InstanceType<C> | Like<C>;

/**
 * The checks of a process spec. On a pending spec each one is queued and runs, in order, once the
 * scenario has run (chain them before `await`); on an outcome each one runs at once. `S` is the
 * process state, `T` its timeout names, `C` the command classes given to the spec.
 */
export interface ProcessChecks<S, T extends string, C extends CommandClass, Self> {
  /** Exactly these commands were sent during the `when` steps, in this order. */
  thenCommands(...expected: ExpectedCommand<C>[]): Self;
  /** These commands were sent during the `when` steps, in this order (others may come between). */
  thenCommandsInclude(...expected: ExpectedCommand<C>[]): Self;
  /** No command was sent during the `when` steps. */
  thenNoCommands(): Self;
  /** The process is in this status (`running`, `completed`, `failed`, `compensated`). */
  thenStatus(status: ProcessStatus): Self;
  /**
   * Checks the process state: a function that asserts (with any runner's `expect`, or throws), or
   * the fields expected (deeply; fields left out are not checked).
   */
  thenState(expected: ((state: S, process: ProcessDetails<S>) => void) | Expected<S>): Self;
  /**
   * The process is `failed`, by an error of this class (errors are kept as text: the class is
   * matched by name, so give error classes a `name` — every `FinAegisError` has one) or of this
   * name, its message containing `message` (a string) or matching it (a RegExp).
   */
  thenFailed(error?: ErrorClass | string, message?: string | RegExp): Self;
  /**
   * Exactly these timeouts are armed, each due this many milliseconds from now on the app's clock
   * (`{}`: none is armed).
   */
  thenArmed(timeouts: { readonly [K in T]?: number }): Self;
}

/**
 * What a process scenario left. The app is closed by then; its records stay readable, so the
 * matchers work on `outcome.app` (`expect(outcome.app).toHaveSent(...)`).
 */
export interface ProcessOutcome<S, T extends string, C extends CommandClass>
  extends ProcessChecks<S, T, C, ProcessOutcome<S, T, C>> {
  /** The app the scenario ran on (closed). */
  readonly app: TestApp;
  /** The manager that ran the definition (closed: `get`, `list`, `stats` still answer). */
  readonly processes: ProcessManager;
  /**
   * The process the checks look at (the one named by the `id` option, or the only one of the
   * definition's type), with its state and history; `undefined` when there is none.
   */
  readonly process: ProcessDetails<S> | undefined;
  /** Commands sent to the command channel during the `when` steps, in order. */
  readonly commands: readonly InstanceType<C>[];
  /** The commands of one class, typed. */
  commandsOf<K extends C>(commandClass: K): InstanceType<K>[];
}

/** What a `when` step that threw left: the error and the rest of the outcome. */
export interface ProcessErrorOutcome<S, C extends CommandClass, X> {
  readonly app: TestApp;
  readonly processes: ProcessManager;
  readonly process: ProcessDetails<S> | undefined;
  readonly commands: readonly InstanceType<C>[];
  readonly error: X;
}

/** @internal The outcome of a scenario whose `when` steps ended without throwing. */
export function processOutcome<S, T extends string, C extends CommandClass>(
  snapshot: Snapshot,
  what: string,
): ProcessOutcome<S, T, C> {
  const process = snapshot.process as ProcessDetails<S> | undefined;
  const commands = snapshot.commands as readonly InstanceType<C>[];
  const need = (check: string): ProcessDetails<S> => {
    if (process === undefined) throw new SpecAssertionError(`${what}: ${check}: ${snapshot.missing}`);
    return process;
  };
  const self: ProcessOutcome<S, T, C> = {
    app: snapshot.app,
    processes: snapshot.processes,
    process,
    commands,
    commandsOf: <K extends C>(commandClass: K) =>
      commands.filter((command) => isOf(command, commandClass)) as InstanceType<K>[],
    thenCommands(...expected) {
      checkEvents(commands, expected, 'exact', `${what}, commands sent`, 'command');
      return self;
    },
    thenCommandsInclude(...expected) {
      checkEvents(commands, expected, 'include', `${what}, commands sent`, 'command');
      return self;
    },
    thenNoCommands() {
      checkEvents(commands, [], 'exact', `${what}, commands sent`, 'command');
      return self;
    },
    thenStatus(status) {
      if (!STATUSES.includes(status)) {
        throw new InvalidArgumentError(ADAPTER, 'status', `must be one of ${STATUSES.join(', ')}`);
      }
      const found = need(`expected status ${status}`);
      if (found.status !== status) {
        throw new SpecAssertionError(
          `${what}: expected the process to be ${status}, it is ${found.status}${failureText(found)}\n  history: ${historyText(found)}`,
          { expected: status, actual: found.status },
        );
      }
      return self;
    },
    thenState(expected) {
      const found = need('expected a state');
      if (typeof expected === 'function') {
        (expected as (state: S, process: ProcessDetails<S>) => void)(found.state as S, found);
        return self;
      }
      const problem = mismatch(found.state, expected, true);
      if (problem !== undefined) {
        throw new SpecAssertionError(`${what}: the process state is not as expected: ${problem}`, {
          expected,
          actual: shapedLike(found.state, expected),
        });
      }
      return self;
    },
    thenFailed(error, message) {
      checkFailed(need('expected a failed process'), error, message, what);
      return self;
    },
    thenArmed(timeouts) {
      if (typeof timeouts !== 'object' || timeouts === null) {
        throw new InvalidArgumentError(ADAPTER, 'timeouts', 'must be an object of timeout names to ms');
      }
      const found = need('expected armed timeouts');
      const actual = Object.fromEntries(
        Object.entries(found.timeouts).map(([name, pending]) => [name, pending.dueAt - snapshot.now]),
      );
      const problem = mismatch(actual, timeouts, false);
      if (problem !== undefined) {
        throw new SpecAssertionError(
          `${what}: the armed timeouts (ms until due) are not as expected: ${problem}`,
          { expected: timeouts, actual },
        );
      }
      return self;
    },
  };
  return self;
}

function checkFailed(
  process: ProcessDetails<unknown>,
  error: ErrorClass | string | undefined,
  message: string | RegExp | undefined,
  what: string,
): void {
  if (error !== undefined && typeof error !== 'string' && typeof error !== 'function') {
    throw new InvalidArgumentError(ADAPTER, 'error', 'must be an error class or an error name');
  }
  const name = typeof error === 'function' ? error.name : error;
  const wanted = `${name ?? 'an error'}${message === undefined ? '' : ` (${String(message)})`}`;
  const failure = process.failure?.error;
  if (process.status !== 'failed' || failure === undefined) {
    throw new SpecAssertionError(
      `${what}: expected the process to have failed with ${wanted}, it is ${process.status}\n  history: ${historyText(process)}`,
      { expected: 'failed', actual: process.status },
    );
  }
  if (name !== undefined && failure.name !== name) {
    throw new SpecAssertionError(
      `${what}: expected the process to have failed with ${wanted}, it failed with ${failure.name}: ${failure.message}${failure.name === 'Error' ? ' (an error class without its own `name` is kept as Error)' : ''}`,
      { expected: name, actual: failure.name },
    );
  }
  const text = failure.message;
  const matches =
    message === undefined || (typeof message === 'string' ? text.includes(message) : message.test(text));
  if (!matches) {
    throw new SpecAssertionError(
      `${what}: expected the failure's message ${typeof message === 'string' ? 'to contain' : 'to match'} ${show(message)}, got: ${text}`,
      { expected: message, actual: text },
    );
  }
}

function failureText(process: ProcessDetails<unknown>): string {
  const error = process.failure?.error;
  return error === undefined ? '' : ` (${error.name}: ${error.message})`;
}

function historyText(process: ProcessDetails<unknown>): string {
  return process.history
    .map((entry) => `${entry.kind}${entry.messageType === undefined ? '' : ` ${entry.messageType}`}`)
    .join(' → ');
}

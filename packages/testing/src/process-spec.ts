import { InvalidArgumentError, ProcessDefinition } from '@finaegis/core';
import { checkError, type ErrorClass } from './expectations';
import {
  type CommandClass,
  type ProcessChecks,
  type ProcessErrorOutcome,
  type ProcessOutcome,
  processOutcome,
} from './process-outcome';
import {
  checkSteps,
  type Item,
  type ProcessSpecStep,
  type RunSetup,
  runScenario,
  type Snapshot,
} from './process-run';
import { SpecAssertionError } from './spec-assertion-error';
import type { TestApp, TestAppOptions } from './test-app';
import { createTestClock } from './test-clock';

const ADAPTER = '@finaegis/testing';

/** Options of {@link processSpec}. */
export interface ProcessSpecOptions<Commands extends readonly CommandClass[]> {
  /**
   * Every command class the process (or a handler of `setup`) sends. `then…` takes only these
   * (anything else is a compile error), and a command of another class sent in a spec fails it.
   * Those without a handler after `setup` get one that takes them and does nothing.
   */
  readonly commands: Commands;
  /** The process the state and status checks look at. Default: the only process of the definition's type. */
  readonly id?: string;
  /** Registers handlers on the app before the scenario runs (command handlers that answer with events, …). */
  readonly setup?: (app: TestApp) => unknown;
  /**
   * The time every scenario starts at (ms since the epoch, or a Date), on a new clock per run, so
   * that history times and due times are the same on every run. Default: the real time now.
   */
  readonly startAt?: number | Date;
  /**
   * Options of the test app each scenario runs on (`worker`, `idleTimeoutMs`, …). A `clock` given
   * here is shared by every run of the spec (its time goes on from one run to the next).
   */
  readonly app?: TestAppOptions;
}

/** Options of `givenState`. */
export interface GivenStateOptions<T extends string> {
  /** Timeouts armed with the state, each firing this many seconds later (as `step.schedule`). */
  readonly armed?: { readonly [K in T]?: number };
}

/**
 * A process spec with its past set (see {@link processSpec}). Every `then…` runs the whole scenario
 * on a new app, so one `given` can be shared by many tests.
 */
export interface ProcessGiven<S, T extends string, C extends CommandClass> {
  /** More past: events, `timePasses(ms)`, or functions of `{ app, processes }`. */
  given(...steps: ProcessSpecStep[]): ProcessGiven<S, T, C>;
  /**
   * A process already running with this state, as if its start step had run (saved at version 1
   * with a `started` history entry), with the `armed` timeouts pending on the clock.
   */
  givenState(processId: string, state: S, options?: GivenStateOptions<T>): ProcessGiven<S, T, C>;
  /** What happens now: events, `timePasses(ms)`, functions of `{ app, processes }`, in order. */
  when(...steps: ProcessSpecStep[]): ProcessWhen<S, T, C>;
}

/**
 * A process spec being checked: a promise of the outcome that takes more checks until it is
 * awaited (`await spec.when(…).thenCommands(…).thenStatus('completed')`).
 */
export interface ProcessExpectation<S, T extends string, C extends CommandClass>
  extends Promise<ProcessOutcome<S, T, C>>,
    ProcessChecks<S, T, C, ProcessExpectation<S, T, C>> {}

/** The result of `given`/`when` on a process spec: run it with a `then…` step. */
export interface ProcessWhen<S, T extends string, C extends CommandClass>
  extends ProcessChecks<S, T, C, ProcessExpectation<S, T, C>> {
  /**
   * Expects a `when` step to throw (or reject with) an instance of `errorClass` (a `ProcessError`
   * of an operator action, say), its message containing `message` (a string) or matching it.
   */
  thenError<X extends Error>(
    errorClass: ErrorClass<X>,
    message?: string | RegExp,
  ): Promise<ProcessErrorOutcome<S, C, X>>;
}

/**
 * Given–when–then for a process manager definition (`defineProcess` of `@finaegis/core`): given
 * events (or a process already running, `givenState`), when an event arrives or time passes,
 * then the commands it sent, its status, its state, its failure or its armed timeouts.
 *
 * ```ts
 * await processSpec(payment, { commands: [ChargeCard, CancelOrder] })
 *   .given(new PaymentRequested('o-1', '25.00'))
 *   .when(timePasses(30_000))
 *   .thenCommands(like(CancelOrder, { orderId: 'o-1' }))
 *   .thenStatus('completed');
 * ```
 *
 * Each scenario runs on a new `createTestApp()` with a process manager on the app's clock (a
 * memory process store): events are published on the app's event bus, `timePasses` advances the
 * clock (timeouts are delayed messages of the memory transport), and the app is idle after each
 * step. The commands checked are those sent to the command channel during the `when` steps.
 */
export function processSpec<S, T extends string, const Commands extends readonly CommandClass[]>(
  definition: ProcessDefinition<S, T>,
  options: ProcessSpecOptions<Commands>,
): ProcessGiven<S, T, Commands[number]> {
  if (!(definition instanceof ProcessDefinition)) {
    throw new InvalidArgumentError(ADAPTER, 'definition', 'must be a definition made by defineProcess()');
  }
  if (!Array.isArray(options?.commands) || options.commands.some((cls) => typeof cls !== 'function')) {
    throw new InvalidArgumentError(ADAPTER, 'commands', 'must be an array of command classes');
  }
  if (options.id !== undefined && (typeof options.id !== 'string' || options.id === '')) {
    throw new InvalidArgumentError(ADAPTER, 'id', 'must be a non-empty string');
  }
  if (options.setup !== undefined && typeof options.setup !== 'function') {
    throw new InvalidArgumentError(ADAPTER, 'setup', 'must be a function');
  }
  if (options.startAt !== undefined && options.app?.clock !== undefined) {
    throw new InvalidArgumentError(
      ADAPTER,
      'startAt',
      'cannot be given with app.clock (start that clock there)',
    );
  }
  if (options.startAt !== undefined) createTestClock({ startAt: options.startAt });
  const run: RunSetup = {
    definition: definition as ProcessDefinition<unknown, string>,
    commands: options.commands,
    id: options.id,
    setup: options.setup,
    app: options.app,
    startAt: options.startAt,
    what: `${definition.processType} process spec`,
  };
  return givenStep<S, T, Commands[number]>(run, []);
}

function givenStep<S, T extends string, C extends CommandClass>(
  run: RunSetup,
  history: readonly Item[],
): ProcessGiven<S, T, C> {
  return {
    given(...steps) {
      checkSteps(steps, 'given');
      return givenStep(run, [...history, ...steps]);
    },
    givenState(processId, state, options = {}) {
      if (typeof processId !== 'string' || processId === '') {
        throw new InvalidArgumentError(ADAPTER, 'processId', 'must be a non-empty string');
      }
      const armed: Record<string, number> = { ...options.armed };
      for (const [name, seconds] of Object.entries(armed)) {
        if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
          throw new InvalidArgumentError(ADAPTER, `armed.${name}`, 'must be a number of seconds, 0 or more');
        }
      }
      return givenStep(run, [...history, { seed: true, processId, state, armed }]);
    },
    when(...steps) {
      checkSteps(steps, 'when');
      const scenario = () => runScenario(run, history, steps);
      return {
        ...checksOf<S, T, C, ProcessExpectation<S, T, C>>((check) => expectation(run.what, scenario, check)),
        async thenError<X extends Error>(errorClass: ErrorClass<X>, message?: string | RegExp) {
          if (typeof errorClass !== 'function') {
            throw new InvalidArgumentError(ADAPTER, 'errorClass', 'must be an error class');
          }
          const snapshot = await scenario();
          checkError(
            snapshot.ending.ok ? undefined : { error: snapshot.ending.error },
            errorClass,
            message,
            `${run.what}, when`,
            snapshot.commands,
          );
          return {
            app: snapshot.app,
            processes: snapshot.processes,
            process: snapshot.process as ProcessErrorOutcome<S, C, X>['process'],
            commands: snapshot.commands as ProcessErrorOutcome<S, C, X>['commands'],
            error: (snapshot.ending as { error: unknown }).error as X,
          };
        },
      };
    },
  };
}

type Check<S, T extends string, C extends CommandClass> = (outcome: ProcessOutcome<S, T, C>) => unknown;

/** The checks, each handing a call on the outcome to `add`. */
function checksOf<S, T extends string, C extends CommandClass, R>(
  add: (check: Check<S, T, C>) => R,
): ProcessChecks<S, T, C, R> {
  return {
    thenCommands: (...expected) => add((o) => o.thenCommands(...expected)),
    thenCommandsInclude: (...expected) => add((o) => o.thenCommandsInclude(...expected)),
    thenNoCommands: () => add((o) => o.thenNoCommands()),
    thenStatus: (status) => add((o) => o.thenStatus(status)),
    thenState: (expected) => add((o) => o.thenState(expected)),
    thenFailed: (error, message) => add((o) => o.thenFailed(error, message)),
    thenArmed: (timeouts) => add((o) => o.thenArmed(timeouts)),
  };
}

/**
 * Runs the scenario (on the next turn, so that checks chained in the same expression are all
 * queued), then the checks in order; resolves with the outcome.
 */
function expectation<S, T extends string, C extends CommandClass>(
  what: string,
  scenario: () => Promise<Snapshot>,
  first: Check<S, T, C>,
): ProcessExpectation<S, T, C> {
  const checks: Check<S, T, C>[] = [first];
  let sealed = false;
  const promise = Promise.resolve().then(async () => {
    const snapshot = await scenario();
    sealed = true;
    if (!snapshot.ending.ok) {
      const error = snapshot.ending.error;
      throw new SpecAssertionError(
        `${what}: a when step threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        { cause: error },
      );
    }
    const outcome = processOutcome<S, T, C>(snapshot, what);
    for (const check of checks) check(outcome);
    return outcome;
  });
  const add = (check: Check<S, T, C>): ProcessExpectation<S, T, C> => {
    if (sealed) {
      throw new InvalidArgumentError(
        ADAPTER,
        'then…',
        'must be chained before the spec is awaited (call it on the awaited outcome instead)',
      );
    }
    checks.push(check);
    return self;
  };
  const self = Object.assign(promise, checksOf<S, T, C, ProcessExpectation<S, T, C>>(add));
  return self;
}

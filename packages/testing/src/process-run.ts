import {
  Command,
  createProcessManager,
  type DomainEvent,
  encodeJson,
  InvalidArgumentError,
  type MessageClass,
  type PendingTimeout,
  type ProcessDefinition,
  type ProcessDetails,
  type ProcessManager,
  ProcessTimeout,
} from '@finaegis/core';
import { createMemoryProcessStore } from '@finaegis/memory';
import { describeMessage, isEvent, isOf, typeName } from './match';
import type { Ending } from './scenario';
import { SpecAssertionError } from './spec-assertion-error';
import { createTestApp, type TestApp, type TestAppOptions } from './test-app';
import { createTestClock } from './test-clock';

/*
 * Running one process scenario: a test app with the process manager on its clock, the given
 * steps, the when steps, and a snapshot of what came out. Every `then…` of a process spec runs it
 * on a new app.
 */

const ADAPTER = '@finaegis/testing';
const TIME_PASSES = Symbol.for('@finaegis/testing: timePasses');

/** A step of time passing, for `given` and `when` of a process spec. Made by {@link timePasses}. */
export interface TimePasses {
  /** Milliseconds the clock moves. */
  readonly ms: number;
}

/**
 * Time passing, as a `given` or `when` step of a process spec: the app's clock moves `ms`
 * forward (`app.advance(ms)`), and every timeout and delayed message due in that window runs.
 * @throws InvalidArgumentError for a negative or non-finite `ms`.
 */
export function timePasses(ms: number): TimePasses {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new InvalidArgumentError(ADAPTER, 'ms', `must be a finite number of milliseconds >= 0, got ${ms}`);
  }
  const step = { ms };
  Object.defineProperty(step, TIME_PASSES, { value: true });
  return Object.freeze(step);
}

function isTimePasses(value: unknown): value is TimePasses {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [TIME_PASSES]?: boolean })[TIME_PASSES] === true
  );
}

/** What a function step of a process spec gets: the app and the process manager running the definition. */
export interface ProcessSpecContext {
  readonly app: TestApp;
  readonly processes: ProcessManager;
}

/**
 * One `given` or `when` step of a process spec: an event (published on the app's event bus), time
 * passing (`timePasses(ms)`), or a function of the app and the manager (`({ processes }) =>
 * processes.retry(payment, 'o-1')`). The app is idle after each step.
 */
export type ProcessSpecStep = DomainEvent | TimePasses | ((context: ProcessSpecContext) => unknown);

/** @internal A started process put in the store as a `given` step (`givenState`). */
export interface SeededState {
  readonly seed: true;
  readonly processId: string;
  readonly state: unknown;
  readonly armed: Readonly<Record<string, number>>;
}

/** @internal */
export type Item = ProcessSpecStep | SeededState;

/** @internal Checks the steps a `given` or `when` was given. */
export function checkSteps(steps: readonly unknown[], method: string): void {
  for (const [i, step] of steps.entries()) {
    if (typeof step !== 'function' && !isEvent(step) && !isTimePasses(step)) {
      throw new InvalidArgumentError(
        ADAPTER,
        `${method}[${i}]`,
        'must be a domain event, timePasses(ms) or a function of { app, processes }',
      );
    }
  }
}

/** @internal What the scenario needs besides its steps. */
export interface RunSetup {
  readonly definition: ProcessDefinition<unknown, string>;
  readonly commands: readonly MessageClass<Command<unknown>>[];
  readonly id: string | undefined;
  readonly setup: ((app: TestApp) => unknown) | undefined;
  readonly app: TestAppOptions | undefined;
  readonly startAt: number | Date | undefined;
  readonly what: string;
}

/** @internal What a scenario left. The app is closed; its records stay. */
export interface Snapshot {
  readonly app: TestApp;
  readonly processes: ProcessManager;
  /** The process the checks look at, or undefined (then `missing` says why). */
  readonly process: ProcessDetails<unknown> | undefined;
  readonly missing: string;
  /** Commands sent to the command channel during the when steps, in order. */
  readonly commands: readonly Command<unknown>[];
  /** The clock's time when the scenario ended. */
  readonly now: number;
  readonly ending: Ending<undefined>;
}

function describeStep(item: Item): string {
  if (isTimePasses(item)) return `timePasses(${item.ms})`;
  if ('seed' in item && item.seed === true) return `givenState(${JSON.stringify(item.processId)})`;
  if (isEvent(item)) return describeMessage(item);
  return 'a function';
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** @internal Runs given + when on a new app and takes the snapshot. */
export async function runScenario(
  run: RunSetup,
  given: readonly Item[],
  when: readonly ProcessSpecStep[],
): Promise<Snapshot> {
  const app = await createTestApp(
    run.startAt === undefined ? run.app : { ...run.app, clock: createTestClock({ startAt: run.startAt }) },
  );
  let processes: ProcessManager | undefined;
  try {
    await run.setup?.(app);
    const store = createMemoryProcessStore();
    processes = createProcessManager(app, {
      store,
      processes: [run.definition],
      now: app.clock.now,
    });
    // Commands nobody handles in this spec are taken and dropped: the spec is about sending them.
    for (const commandClass of run.commands) {
      if (!app.commandBus.has(commandClass)) app.commandBus.register(commandClass, () => undefined);
    }
    const context: ProcessSpecContext = { app, processes };
    const perform = async (item: Item): Promise<void> => {
      if (isTimePasses(item)) await app.advance(item.ms);
      else if (isEvent(item)) await app.eventBus.publish(item);
      else if (typeof item === 'function') await item(context);
      else await seed(app, run.definition.processType, item, store);
      await app.idle();
    };
    for (const [i, item] of given.entries()) {
      try {
        await perform(item);
      } catch (error) {
        throw new SpecAssertionError(
          `${run.what}: given step ${i + 1} (${describeStep(item)}) threw ${describeError(error)}`,
          { cause: error },
        );
      }
    }
    const from = app.sent.length;
    let ending: Ending<undefined> = { ok: true, value: undefined };
    try {
      for (const item of when) await perform(item);
    } catch (error) {
      ending = { ok: false, error };
    }
    const channel = app.config.commandBus.asyncQueue;
    const commands = app.sent
      .slice(from)
      .filter((record) => record.channel === channel && record.message instanceof Command)
      .map((record) => record.message as Command<unknown>);
    checkCommands(commands, run);
    const found = await findProcess(processes, run);
    return { app, processes, ...found, commands, now: app.clock.now(), ending };
  } finally {
    await processes?.close();
    await app.close();
  }
}

function checkCommands(commands: readonly Command<unknown>[], run: RunSetup): void {
  for (const command of commands) {
    if (!run.commands.some((cls) => isOf(command, cls))) {
      throw new SpecAssertionError(
        `${run.what}: ${typeName(command)} was sent, but it is not among the command classes given to the spec (add it to \`commands\`)`,
      );
    }
  }
}

async function findProcess(
  processes: ProcessManager,
  run: RunSetup,
): Promise<{ process: ProcessDetails<unknown> | undefined; missing: string }> {
  const type = run.definition.processType;
  if (run.id !== undefined) {
    const process = await processes.get(run.definition, run.id);
    return { process, missing: `no ${type} process ${JSON.stringify(run.id)} exists` };
  }
  const all = await processes.list({ processType: type });
  if (all.length === 1)
    return { process: await processes.get(run.definition, all[0]!.processId), missing: '' };
  return {
    process: undefined,
    missing:
      all.length === 0
        ? `no ${type} process was started`
        : `${all.length} ${type} processes exist (${all.map((p) => JSON.stringify(p.processId)).join(', ')}): name the one to check with the \`id\` option`,
  };
}

/** A started process written to the store as the manager would have saved it, its timeouts armed. */
async function seed(
  app: TestApp,
  processType: string,
  item: SeededState,
  store: ReturnType<typeof createMemoryProcessStore>,
): Promise<void> {
  const text = item.state === undefined || item.state === null ? undefined : encodeJson(item.state);
  if (text === undefined)
    throw new InvalidArgumentError(ADAPTER, 'state', 'must be the process state, not null or undefined');
  await app.transaction(async () => {
    const now = app.clock.now();
    const timeouts: Record<string, PendingTimeout> = {};
    for (const [name, seconds] of Object.entries(item.armed)) {
      const timeout = new ProcessTimeout(processType, item.processId, name, now + Math.round(seconds * 1000));
      timeouts[name] = { id: timeout.messageId, dueAt: timeout.dueAt };
      await app.eventBus.publishAsync(timeout, seconds > 0 ? { delay: seconds } : {});
    }
    const record = {
      processType,
      processId: item.processId,
      status: 'running' as const,
      version: 1,
      state: JSON.parse(text) as unknown,
      timeouts,
      parked: [],
      startedAt: now,
      updatedAt: now,
    };
    await store.save(
      record,
      { version: 1, at: now, kind: 'started', status: 'running' },
      { expectedVersion: 0 },
    );
  });
}

import type { AsyncOptions } from '../buses/shared';
import { ConfigError } from '../errors/config-error';
import type { Command, DomainEvent } from '../messages';
import { decodeJson, encodeJson } from '../serialization';
import type { ProcessSpec, ProcessStep } from './definition';
import type { PendingTimeout, ProcessFailure, ProcessHistoryKind } from './process-store';
import { ProcessTimeout } from './process-timeout';
import { StepFailure } from './step-failure';

/** @internal The part of a process that steps change, between load and save. */
export interface Working {
  state: unknown;
  started: boolean;
  timeouts: Record<string, PendingTimeout>;
  completed: boolean;
}

/** @internal What the steps of one unit of work asked for, done before it commits. */
export interface Effects {
  readonly sends: { readonly command: Command<unknown>; readonly options: AsyncOptions | undefined }[];
  timeouts: ProcessTimeout[];
}

/** Why a message changed nothing. */
export type IgnoredReason =
  /** No process for its correlation, and it does not start one. */
  | 'no-process'
  /** The process has ended. */
  | 'ended'
  /** The process already dealt with this message (a redelivery). */
  | 'duplicate'
  /** A timeout that was cancelled or armed again since. */
  | 'stale-timeout'
  /** The process exists and has no handler for this event class. */
  | 'unhandled';

/** @internal */
export type RunResult =
  | { readonly kind: 'ran'; readonly historyKind: ProcessHistoryKind }
  | { readonly kind: 'ignored'; readonly reason: IgnoredReason };

/** @internal The step context handed to handlers; it only collects, the manager acts. */
class Step implements ProcessStep {
  constructor(
    readonly processType: string,
    readonly processId: string,
    readonly messageId: string,
    readonly now: number,
    private readonly spec: ProcessSpec,
    private readonly working: Working,
    private readonly effects: Effects,
  ) {}

  send(command: Command<unknown>, options?: AsyncOptions): void {
    this.effects.sends.push({ command, options });
  }

  schedule(name: string, delay: number): void {
    if (!this.spec.timeouts.has(name)) {
      throw new ConfigError(
        `schedule(${JSON.stringify(name)})`,
        name,
        `a timeout ${this.processType} handles with onTimeout()`,
      );
    }
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw new ConfigError(
        `schedule(${JSON.stringify(name)}).delay`,
        delay,
        'a number of seconds, 0 or more',
      );
    }
    const dueAt = this.now + Math.round(delay * 1000);
    const timeout = new ProcessTimeout(this.processType, this.processId, name, dueAt);
    this.effects.timeouts = this.effects.timeouts.filter((t) => t.name !== name);
    this.effects.timeouts.push(timeout);
    this.working.timeouts[name] = { id: timeout.messageId, dueAt };
  }

  cancel(name: string): void {
    delete this.working.timeouts[name];
    this.effects.timeouts = this.effects.timeouts.filter((t) => t.name !== name);
  }

  armed(name: string): boolean {
    return Object.hasOwn(this.working.timeouts, name);
  }

  complete(): void {
    this.working.completed = true;
  }
}

/** @internal Runs user code; whatever it throws becomes a `StepFailure`. */
async function guarded<T>(work: () => T): Promise<Awaited<T>> {
  try {
    return await work();
  } catch (error) {
    throw new StepFailure(error);
  }
}

/**
 * @internal Runs the handler `message` calls for on `working`, collecting what it asks for into
 * `effects`. Throws `StepFailure` when the handler throws.
 */
export async function runMessage(
  spec: ProcessSpec,
  processId: string,
  working: Working,
  message: DomainEvent,
  effects: Effects,
  now: number,
): Promise<RunResult> {
  const step = new Step(spec.processType, processId, message.messageId, now, spec, working, effects);
  if (message instanceof ProcessTimeout) {
    const pending = working.timeouts[message.name];
    if (!working.started || pending === undefined || pending.id !== message.messageId) {
      return { kind: 'ignored', reason: 'stale-timeout' };
    }
    const handle = spec.timeouts.get(message.name);
    if (handle === undefined) return { kind: 'ignored', reason: 'unhandled' };
    delete working.timeouts[message.name];
    const next = await guarded(() => handle(working.state, step, message));
    if (next !== undefined) working.state = next;
    return settle(working, effects, 'timeout');
  }
  if (!working.started) {
    const start = spec.starts.get(message.constructor);
    if (start === undefined) return { kind: 'ignored', reason: 'no-process' };
    working.state = await guarded(() => start.handle(undefined, message, step));
    working.started = true;
    return settle(working, effects, 'started');
  }
  const handler = spec.handlers.get(message.constructor);
  if (handler === undefined) return { kind: 'ignored', reason: 'unhandled' };
  const next = await guarded(() => handler.handle(working.state, message, step));
  if (next !== undefined) working.state = next;
  return settle(working, effects, 'handled');
}

/** @internal Runs the definition's compensation on `working`. */
export async function runCompensation(
  spec: ProcessSpec,
  processId: string,
  working: Working,
  failure: ProcessFailure | undefined,
  actionId: string,
  effects: Effects,
  now: number,
): Promise<void> {
  const compensate = spec.compensate!;
  const step = new Step(spec.processType, processId, actionId, now, spec, working, effects);
  const next = await guarded(() => compensate(working.started ? working.state : undefined, step, failure));
  if (next !== undefined) working.state = next;
  working.timeouts = {};
  effects.timeouts = [];
}

/** After a completing step nothing is armed: its timeouts would only arrive to be ignored. */
function settle(working: Working, effects: Effects, historyKind: ProcessHistoryKind): RunResult {
  if (working.completed) {
    working.timeouts = {};
    effects.timeouts = [];
  }
  return { kind: 'ran', historyKind };
}

/** @internal State as the store keeps it: JSON, with dates and bigints in `encodeJson` form. */
export function storedState(state: unknown): unknown {
  if (state === undefined) return null;
  let text: string | undefined;
  try {
    text = encodeJson(state);
  } catch (error) {
    throw new StepFailure(new ConfigError('state', state, 'JSON-compatible process state', { cause: error }));
  }
  if (text === undefined)
    throw new StepFailure(new ConfigError('state', state, 'JSON-compatible process state'));
  return JSON.parse(text) as unknown;
}

/** @internal State as handlers see it: dates and bigints revived. */
export function liveState(stored: unknown): unknown {
  return stored === null || stored === undefined ? undefined : decodeJson(JSON.stringify(stored));
}

import type { AsyncOptions } from '../buses/shared';
import { ConfigError } from '../errors/config-error';
import { type Command, DomainEvent, type MessageClass, messageTypeOf } from '../messages';
import type { ProcessFailure } from './process-store';
import type { ProcessTimeout } from './process-timeout';

/**
 * What a step handler may do besides returning the new state. Nothing happens at once: the
 * commands and timeouts are committed with the new state, in one unit of work, when the handler
 * has returned (and not at all when it throws).
 */
export interface ProcessStep<T extends string = string> {
  /** The definition's stable name. */
  readonly processType: string;
  /** The process's correlation. */
  readonly processId: string;
  /** Id of the message being handled (for a manual action: of the action). */
  readonly messageId: string;
  /** When the step started (ms since the epoch). */
  readonly now: number;
  /** Sends a command to the workers (`dispatchAsync`) when the step commits. */
  send(command: Command<unknown>, options?: AsyncOptions): void;
  /**
   * Arms the timeout `name` to fire `delay` seconds (fractions allowed) from now. Arming a name
   * that is armed already replaces it: the earlier one becomes stale and is ignored.
   * @throws ConfigError when the definition has no `onTimeout(name)` or the delay is not >= 0.
   */
  schedule(name: T, delay: number): void;
  /** Disarms the timeout `name` (when it still arrives, it is ignored). */
  cancel(name: T): void;
  /** Whether the timeout `name` is armed. */
  armed(name: T): boolean;
  /** Ends the process (`completed`) when the step commits; later messages are ignored. */
  complete(): void;
}

/** Finds the process an event belongs to; `undefined` or `''` when it belongs to none. */
export type Correlate<E> = (event: E) => string | undefined;

/** Starts a process: returns its first state. */
export type StartHandler<S, E, T extends string> = (event: E, step: ProcessStep<T>) => S | Promise<S>;

/** Handles an event for a running process: returns its new state, or `undefined` to keep it. */
export type EventHandler<S, E, T extends string> = (
  state: S,
  event: E,
  step: ProcessStep<T>,
) => S | undefined | Promise<S | undefined>;

/** Handles a timeout that fired: returns the new state, or `undefined` to keep it. */
export type TimeoutHandler<S, T extends string> = (
  state: S,
  step: ProcessStep<T>,
  timeout: ProcessTimeout,
) => S | undefined | Promise<S | undefined>;

/**
 * Undoes what a process did, when an operator asks for it (`ProcessManager.compensate`): sends
 * the commands that take its effects back. The process then ends as `compensated`. `state` is
 * `undefined` when the process failed in its start step.
 */
export type CompensateHandler<S, T extends string> = (
  state: S | undefined,
  step: ProcessStep<T>,
  failure: ProcessFailure | undefined,
) => S | undefined | Promise<S | undefined>;

/** @internal A handler with its argument types erased, as the manager calls it. */
export interface ErasedHandler {
  readonly correlate: (event: DomainEvent) => string | undefined;
  readonly handle: (state: unknown, event: DomainEvent, step: ProcessStep) => unknown;
}

/** @internal What a definition holds, without the types the builder keeps for its users. */
export interface ProcessSpec {
  readonly processType: string;
  readonly starts: ReadonlyMap<Function, ErasedHandler>;
  readonly handlers: ReadonlyMap<Function, ErasedHandler>;
  readonly timeouts: ReadonlyMap<
    string,
    (state: unknown, step: ProcessStep, timeout: ProcessTimeout) => unknown
  >;
  readonly compensate:
    | ((state: unknown, step: ProcessStep, failure: ProcessFailure | undefined) => unknown)
    | undefined;
}

const specs = new WeakMap<object, ProcessSpec>();

/** @internal The spec of a definition made by `defineProcess`. */
export function specOf(definition: object): ProcessSpec {
  const spec = specs.get(definition);
  if (spec === undefined) {
    throw new ConfigError('processes', definition, 'definitions made by defineProcess()');
  }
  return spec;
}

/**
 * A process definition: which events start it and which it reacts to, how it finds its process
 * (correlation), what it does on each, and its timeouts. Immutable: every method returns a new
 * definition. `S` is the process state, `T` the names of its timeouts.
 */
export class ProcessDefinition<S, T extends string = string> {
  /** The stable name of this kind of process (stored with every process: never change it). */
  readonly processType: string;
  /** Only for type inference (`ProcessStateOf`); never set. */
  declare readonly stateType?: S;

  /** @internal Use `defineProcess()`. */
  constructor(spec: ProcessSpec) {
    this.processType = spec.processType;
    specs.set(this, spec);
  }

  /**
   * Starts a process when an event of this class arrives and its correlation has no process yet.
   * An event of this class for a process that exists goes to its `on` handler, if it has one.
   */
  startedBy<E extends DomainEvent>(
    eventClass: MessageClass<E>,
    correlate: Correlate<E>,
    start: StartHandler<S, E, T>,
  ): ProcessDefinition<S, T> {
    const spec = specOf(this);
    checkEventClass(eventClass, 'startedBy', spec);
    const starts = new Map(spec.starts);
    starts.set(
      eventClass,
      erase(correlate, (_state, event, step) => start(event as E, step as ProcessStep<T>)),
    );
    return new ProcessDefinition<S, T>({ ...spec, starts });
  }

  /** Reacts to an event of this class for a running process. */
  on<E extends DomainEvent>(
    eventClass: MessageClass<E>,
    correlate: Correlate<E>,
    handle: EventHandler<S, E, T>,
  ): ProcessDefinition<S, T> {
    const spec = specOf(this);
    checkEventClass(eventClass, 'on', spec);
    if (spec.handlers.has(eventClass)) {
      throw new ConfigError(
        `on(${messageTypeOf(eventClass)})`,
        'a second handler',
        'one handler per event class',
      );
    }
    const handlers = new Map(spec.handlers);
    handlers.set(
      eventClass,
      erase(correlate, (state, event, step) => handle(state as S, event as E, step as ProcessStep<T>)),
    );
    return new ProcessDefinition<S, T>({ ...spec, handlers });
  }

  /** Handles the timeout `name` when it fires for a running process. */
  onTimeout(name: T, handle: TimeoutHandler<S, T>): ProcessDefinition<S, T> {
    const spec = specOf(this);
    if (typeof name !== 'string' || name === '') throw new ConfigError('onTimeout', name, 'a non-empty name');
    if (spec.timeouts.has(name))
      throw new ConfigError(`onTimeout(${name})`, 'a second handler', 'one per name');
    const timeouts = new Map(spec.timeouts);
    timeouts.set(name, (state, step, timeout) => handle(state as S, step as ProcessStep<T>, timeout));
    return new ProcessDefinition<S, T>({ ...spec, timeouts });
  }

  /** How to undo the process when an operator compensates it (see `CompensateHandler`). */
  compensateWith(handle: CompensateHandler<S, T>): ProcessDefinition<S, T> {
    const spec = specOf(this);
    return new ProcessDefinition<S, T>({
      ...spec,
      compensate: (state, step, failure) => handle(state as S | undefined, step as ProcessStep<T>, failure),
    });
  }
}

/** A definition of any state (what `createProcessManager` takes). */
export type AnyProcessDefinition = ProcessDefinition<unknown, string>;

/** The state type of a definition. */
export type ProcessStateOf<D> = D extends ProcessDefinition<infer S, string> ? S : never;

/**
 * Starts a process definition. `processType` is its stable name (stored with each process).
 * `S` is the state; `T` the timeout names (`defineProcess<State, 'payout'>('bank.Withdrawal')`).
 */
export function defineProcess<S, T extends string = string>(processType: string): ProcessDefinition<S, T> {
  if (typeof processType !== 'string' || processType === '') {
    throw new ConfigError('processType', processType, 'a non-empty stable name, e.g. bank.Withdrawal');
  }
  return new ProcessDefinition<S, T>({
    processType,
    starts: new Map(),
    handlers: new Map(),
    timeouts: new Map(),
    compensate: undefined,
  });
}

function erase<E>(correlate: Correlate<E>, handle: ErasedHandler['handle']): ErasedHandler {
  if (typeof correlate !== 'function') throw new ConfigError('correlate', correlate, 'a function');
  return { correlate: (event) => correlate(event as E), handle };
}

function checkEventClass(eventClass: unknown, method: string, spec: ProcessSpec): void {
  const ok = typeof eventClass === 'function' && eventClass.prototype instanceof DomainEvent;
  if (!ok) throw new ConfigError(`${spec.processType}.${method}`, eventClass, 'a DomainEvent class');
  if (spec.starts.has(eventClass) && method === 'startedBy') {
    throw new ConfigError(
      `startedBy(${messageTypeOf(eventClass as MessageClass)})`,
      'twice',
      'once per event class',
    );
  }
  // The wire name is needed to keep and rebuild messages: refuse a class without one now.
  messageTypeOf(eventClass as MessageClass);
}

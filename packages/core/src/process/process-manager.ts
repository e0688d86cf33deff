import { ConfigError } from '../errors/config-error';
import { type RetryOnConcurrencyOptions, retryOnConcurrencyError } from '../event-sourcing/retry';
import { newId } from '../ids';
import { type DomainEvent, messageTypeOf } from '../messages';
import type { AnyProcessDefinition, ProcessSpec } from './definition';
import { specOf } from './definition';
import { applyEffects } from './effects';
import type {
  ProcessDetails,
  ProcessHost,
  ProcessManager,
  ProcessManagerOptions,
  ProcessManagerStats,
  ProcessView,
} from './manager-types';
import type { MessageScheduler } from './message-scheduler';
import { ProcessError } from './process-error';
import {
  type ProcessQuery,
  type ProcessRecord,
  type ProcessStatus,
  type ProcessStore,
  TERMINAL_STATUSES,
} from './process-store';
import { ProcessTimeout } from './process-timeout';
import { brief, correlationOf, entryOf, keep, nextRecord, view, workingOf } from './records';
import { errorInfo, StepFailure } from './step-failure';
import { type Effects, type IgnoredReason, runCompensation, runMessage } from './step-runner';

type Outcome =
  | { readonly kind: 'ran' }
  | { readonly kind: 'parked' }
  | { readonly kind: 'ignored'; readonly reason: IgnoredReason };

const terminal = (status: ProcessStatus) => TERMINAL_STATUSES.includes(status);

class Manager implements ProcessManager {
  readonly #host: ProcessHost;
  readonly #store: ProcessStore;
  readonly #scheduler: MessageScheduler | undefined;
  readonly #concurrency: RetryOnConcurrencyOptions;
  readonly #timeout: number | undefined;
  readonly #now: () => number;
  readonly #byType = new Map<string, ProcessSpec>();
  readonly #unsubscribe: (() => void)[] = [];
  #steps = 0;
  #parked = 0;
  #failures = 0;
  #conflicts = 0;
  readonly #ignored: Record<IgnoredReason, number> = {
    'no-process': 0,
    ended: 0,
    duplicate: 0,
    'stale-timeout': 0,
    unhandled: 0,
  };

  constructor(host: ProcessHost, options: ProcessManagerOptions) {
    if (typeof options?.store?.save !== 'function')
      throw new ConfigError('store', options?.store, 'a ProcessStore');
    if (!Array.isArray(options.processes))
      throw new ConfigError('processes', options.processes, 'an array of definitions');
    const timeout = options.transactionTimeout;
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0))
      throw new ConfigError('transactionTimeout', timeout, 'a number of seconds greater than 0');
    const now = options.now ?? Date.now;
    if (typeof now !== 'function')
      throw new ConfigError('now', now, 'a function returning ms since the epoch');
    this.#now = now;
    this.#host = host;
    this.#store = options.store;
    this.#scheduler = options.scheduler;
    this.#timeout = timeout;
    const onRetry = options.concurrency?.onRetry;
    this.#concurrency = {
      attempts: 10,
      ...options.concurrency,
      onRetry: (error, attempt) => {
        this.#conflicts += 1;
        onRetry?.(error, attempt);
      },
    };
    const byClass = new Map<Function, ProcessSpec[]>();
    for (const definition of options.processes) {
      const spec = specOf(definition);
      if (this.#byType.has(spec.processType))
        throw new ConfigError('processes', spec.processType, 'one definition per process type');
      this.#byType.set(spec.processType, spec);
      for (const eventClass of new Set([...spec.starts.keys(), ...spec.handlers.keys()])) {
        byClass.set(eventClass, [...(byClass.get(eventClass) ?? []), spec]);
      }
    }
    for (const [eventClass, specs] of byClass) {
      this.#unsubscribe.push(
        host.eventBus.subscribe(eventClass as typeof DomainEvent, (event) => this.#onEvent(specs, event), {
          name: `processes(${specs.map((s) => s.processType).join(',')})`,
        }),
      );
    }
    if ([...this.#byType.values()].some((spec) => spec.timeouts.size > 0)) {
      this.#unsubscribe.push(
        host.eventBus.subscribe(ProcessTimeout, (timeout) => this.#onTimeout(timeout), {
          name: 'process timeouts',
        }),
      );
    }
  }

  async #onEvent(specs: readonly ProcessSpec[], event: DomainEvent): Promise<void> {
    let failed: { error: unknown } | undefined;
    for (const spec of specs) {
      try {
        const processId = correlationOf(spec, event);
        if (processId === undefined) this.#ignored['no-process'] += 1;
        else await this.#handle(spec, processId, event);
      } catch (error) {
        // Every definition gets the event; the first failure is thrown for the transport to retry.
        failed ??= { error };
      }
    }
    if (failed !== undefined) throw failed.error;
  }

  async #onTimeout(timeout: ProcessTimeout): Promise<void> {
    const spec = this.#byType.get(timeout.processType);
    // Another service's process type: its own manager handles it.
    if (spec === undefined) return;
    await this.#handle(spec, timeout.processId, timeout);
  }

  /** One message for one process: a step, or the failure of one. */
  async #handle(spec: ProcessSpec, processId: string, message: DomainEvent): Promise<void> {
    let failure: StepFailure;
    try {
      this.#count(await this.#inTransaction(() => this.#step(spec, processId, message)));
      return;
    } catch (error) {
      if (!(error instanceof StepFailure)) throw error;
      failure = error;
    }
    this.#host.logger.error('Process step failed', {
      process: spec.processType,
      processId,
      message: messageTypeOf(message),
      messageId: message.messageId,
      error: errorInfo(failure.error).message,
    });
    this.#count(await this.#inTransaction(() => this.#fail(spec, processId, message, failure.error)));
  }

  #count(outcome: Outcome): void {
    if (outcome.kind === 'ran') this.#steps += 1;
    else if (outcome.kind === 'parked') this.#parked += 1;
    else this.#ignored[outcome.reason] += 1;
  }

  #inTransaction<T>(work: () => Promise<T>): Promise<T> {
    const options = this.#timeout === undefined ? {} : { timeout: this.#timeout };
    return retryOnConcurrencyError(() => this.#host.transaction(work, options), this.#concurrency);
  }

  /** Loads, checks, runs the handler, sends what it asked for, saves. In a transaction. */
  async #step(spec: ProcessSpec, processId: string, message: DomainEvent): Promise<Outcome> {
    const store = this.#store;
    const record = await store.load(spec.processType, processId);
    const gate = await this.#gate(record, message);
    if (gate !== undefined) return gate;
    const now = this.#now();
    if (record?.status === 'failed') return this.#park(spec, record, message, now);
    const working = workingOf(record);
    const effects: Effects = { sends: [], timeouts: [] };
    const result = await runMessage(spec, processId, working, message, effects, now);
    if (result.kind === 'ignored') return result;
    await this.#apply(effects);
    const next = nextRecord(
      spec,
      processId,
      record,
      { status: working.completed ? 'completed' : 'running', working },
      now,
    );
    const entry = entryOf(next, result.historyKind, now, {
      id: message.messageId,
      type: messageTypeOf(message),
    });
    await store.save(next, entry, { expectedVersion: record?.version ?? 0 });
    return { kind: 'ran' };
  }

  /** Why a message must not run on this process (ended, or already dealt with), if it must not. */
  async #gate(record: ProcessRecord | undefined, message: DomainEvent): Promise<Outcome | undefined> {
    if (record === undefined) return undefined;
    if (terminal(record.status)) return { kind: 'ignored', reason: 'ended' };
    const seen = await this.#store.handled(record.processType, record.processId, message.messageId);
    return seen ? { kind: 'ignored', reason: 'duplicate' } : undefined;
  }

  /** Keeps a message that arrived while the process was `failed`, for `retry`. */
  async #park(spec: ProcessSpec, record: ProcessRecord, message: DomainEvent, now: number): Promise<Outcome> {
    const kept = keep(this.#host.registry, message);
    const next = nextRecord(
      spec,
      record.processId,
      record,
      { status: 'failed', parked: [...record.parked, kept] },
      now,
    );
    await this.#store.save(next, entryOf(next, 'parked', now, kept), { expectedVersion: record.version });
    return { kind: 'parked' };
  }

  /** Marks the process `failed` with the error of a step that ran `message`. In a transaction. */
  async #fail(spec: ProcessSpec, processId: string, message: DomainEvent, error: unknown): Promise<Outcome> {
    const record = await this.#store.load(spec.processType, processId);
    const gate = await this.#gate(record, message);
    if (gate !== undefined) return gate;
    const now = this.#now();
    // Another message failed it meanwhile: this one waits for the retry like any other.
    if (record?.status === 'failed') return this.#park(spec, record, message, now);
    const kept = keep(this.#host.registry, message);
    const info = errorInfo(error);
    const next = nextRecord(
      spec,
      processId,
      record,
      { status: 'failed', failure: { error: info, message: kept, at: now } },
      now,
    );
    await this.#store.save(next, entryOf(next, 'failed', now, kept, brief(info)), {
      expectedVersion: record?.version ?? 0,
    });
    this.#failures += 1;
    return { kind: 'ran' };
  }

  /** Sends the commands and arms the timeouts a step asked for, in the step's transaction. */
  #apply(effects: Effects): Promise<void> {
    return applyEffects(this.#host, this.#scheduler, effects, this.#now);
  }

  #spec(process: AnyProcessDefinition | string, processId?: string): ProcessSpec {
    const type = typeof process === 'string' ? process : process.processType;
    const spec = this.#byType.get(type);
    if (spec === undefined)
      throw new ProcessError(
        'unknown-type',
        type,
        processId,
        'no definition of this type was given to the manager',
      );
    return spec;
  }

  async list(query: ProcessQuery = {}): Promise<ProcessView[]> {
    return (await this.#store.list(query)).map(view);
  }

  counts(process?: AnyProcessDefinition | string): Promise<Record<ProcessStatus, number>> {
    return this.#store.counts(typeof process === 'object' ? process.processType : process);
  }

  async get(process: AnyProcessDefinition | string, processId: string): Promise<ProcessDetails | undefined> {
    const type = typeof process === 'string' ? process : process.processType;
    const record = await this.#store.load(type, processId);
    if (record === undefined) return undefined;
    return { ...view(record), history: await this.#store.history(type, processId) };
  }

  async retry(process: AnyProcessDefinition | string, processId: string): Promise<ProcessView> {
    const spec = this.#spec(process, processId);
    return this.#manual(spec, processId, async (record, now) => {
      if (record.status !== 'failed')
        throw new ProcessError(
          'not-failed',
          spec.processType,
          processId,
          `it is ${record.status}, not failed`,
        );
      const working = workingOf(record);
      const effects: Effects = { sends: [], timeouts: [] };
      const messages = [
        ...(record.failure?.message === undefined ? [] : [record.failure.message]),
        ...record.parked,
      ];
      for (const kept of messages) {
        if (working.completed) break;
        await runMessage(spec, processId, working, this.#revive(kept.body), effects, now);
      }
      await this.#apply(effects);
      const status = working.completed ? 'completed' : 'running';
      return {
        next: nextRecord(spec, processId, record, { status, working, failure: undefined, parked: [] }, now),
        kind: 'retried',
      };
    });
  }

  async compensate(process: AnyProcessDefinition | string, processId: string): Promise<ProcessView> {
    const spec = this.#spec(process, processId);
    if (spec.compensate === undefined) {
      throw new ProcessError(
        'no-compensation',
        spec.processType,
        processId,
        'its definition has no compensateWith()',
      );
    }
    return this.#manual(spec, processId, async (record, now) => {
      if (terminal(record.status))
        throw new ProcessError('ended', spec.processType, processId, `it is already ${record.status}`);
      const working = workingOf(record);
      const effects: Effects = { sends: [], timeouts: [] };
      await runCompensation(spec, processId, working, record.failure, newId(now), effects, now);
      await this.#apply(effects);
      const change = { status: 'compensated' as const, working, failure: undefined, parked: [] };
      return { next: nextRecord(spec, processId, record, change, now), kind: 'compensated' };
    });
  }

  /** An operator action: one transaction; when its step fails, the process records the error. */
  async #manual(
    spec: ProcessSpec,
    processId: string,
    act: (
      record: ProcessRecord,
      now: number,
    ) => Promise<{ next: ProcessRecord; kind: 'retried' | 'compensated' }>,
  ): Promise<ProcessView> {
    const load = async (): Promise<ProcessRecord> => {
      const record = await this.#store.load(spec.processType, processId);
      if (record === undefined)
        throw new ProcessError('not-found', spec.processType, processId, 'no such process');
      return record;
    };
    try {
      return view(
        await this.#inTransaction(async () => {
          const record = await load();
          const now = this.#now();
          const { next, kind } = await act(record, now);
          await this.#store.save(next, entryOf(next, kind, now), { expectedVersion: record.version });
          return next;
        }),
      );
    } catch (error) {
      if (!(error instanceof StepFailure)) throw error;
      const info = errorInfo(error.error);
      this.#failures += 1;
      return view(
        await this.#inTransaction(async () => {
          const record = await load();
          const now = this.#now();
          const failure = { ...record.failure, error: info, at: now };
          const next = nextRecord(spec, processId, record, { status: 'failed', failure }, now);
          await this.#store.save(next, entryOf(next, 'failed', now, undefined, brief(info)), {
            expectedVersion: record.version,
          });
          return next;
        }),
      );
    }
  }

  #revive(body: string): DomainEvent {
    return this.#host.registry.decode(body) as DomainEvent;
  }

  stats(): ProcessManagerStats {
    return {
      steps: this.#steps,
      ignored: { ...this.#ignored },
      parked: this.#parked,
      failures: this.#failures,
      conflicts: this.#conflicts,
    };
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }
}

/**
 * Runs process definitions (sagas) on the app's buses. Each process is started by an event, keyed
 * by a correlation, keeps typed state, reacts to further events by sending commands, arms
 * timeouts, and ends in a terminal state. Each step (load, handle, send, save) is one transaction
 * of the app's transaction manager: state, commands and timeouts commit together (through the
 * outbox on PostgreSQL) or not at all. A step that loses a race with another step of the same
 * process is run again on the newer state. A step whose handler throws leaves the process `failed`
 * with the error, listed with its history, until `retry` or `compensate`.
 * @throws ConfigError for a missing store, a definition not made by `defineProcess`, two
 *   definitions of one type.
 */
export function createProcessManager(host: ProcessHost, options: ProcessManagerOptions): ProcessManager {
  return new Manager(host, options);
}

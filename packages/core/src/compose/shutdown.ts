import type { Logger } from '../ports/logger';

/** One step of a shutdown, as the report and the log lines name it. */
export interface ShutdownStep {
  /** `stop consumers`, `flush outbox`, `stop relay`, `close buses and transport`, `close event store`, or a hook's name. */
  readonly step: string;
  /** `done`, `timed out` (the deadline passed first; the step was left running), or `failed`. */
  readonly outcome: 'done' | 'timed out' | 'failed';
  readonly ms: number;
  /** What it did (`12 outbox messages sent`) or why it failed. */
  readonly detail?: string;
}

/** What `app.shutdown()` resolves. */
export interface ShutdownReport {
  /** Why it shut down (`SIGTERM`, `close()`, ...). */
  readonly reason: string;
  /** True when every step finished in time and none failed. */
  readonly clean: boolean;
  readonly steps: readonly ShutdownStep[];
}

/** Options of `app.shutdown()`. */
export interface ShutdownOptions {
  /** Why, for the log lines and the report. Default `shutdown()`. */
  readonly reason?: string;
  /** Milliseconds the whole shutdown may take. Default `config.shutdownTimeout` seconds. */
  readonly timeoutMs?: number;
}

/** A step of the plan: `run` gets the deadline (ms since the epoch) and may say what it did. */
export interface PlannedStep {
  readonly step: string;
  /** Steps that must run even after the deadline passed (closing connections) get this much more time. */
  readonly graceMs?: number;
  readonly run: (deadline: number) => Promise<string | undefined>;
}

/**
 * Runs the steps one after the other, each bounded by the deadline (closing steps get their grace
 * past it), logging each. A step that fails or overruns is reported and the next one runs anyway:
 * a shutdown always reaches the end.
 */
export async function runShutdown(
  steps: readonly PlannedStep[],
  options: { reason: string; timeoutMs: number; logger: Logger },
): Promise<ShutdownReport> {
  const { logger, reason } = options;
  const deadline = Date.now() + options.timeoutMs;
  const done: ShutdownStep[] = [];
  logger.info('Shutting down', { reason, timeoutMs: options.timeoutMs });
  for (const planned of steps) {
    const started = Date.now();
    const until = Math.max(deadline, started + (planned.graceMs ?? 0));
    let timer: NodeJS.Timeout | undefined;
    let outcome: ShutdownStep['outcome'] = 'done';
    let detail: string | undefined;
    try {
      const result = await Promise.race([
        planned.run(until),
        new Promise<typeof TIMED_OUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, until - started));
        }),
      ]);
      if (result === TIMED_OUT) outcome = 'timed out';
      else detail = result;
    } catch (error) {
      outcome = 'failed';
      detail = error instanceof Error ? error.message : String(error);
    } finally {
      clearTimeout(timer);
    }
    const entry: ShutdownStep = {
      step: planned.step,
      outcome,
      ms: Date.now() - started,
      ...(detail === undefined ? {} : { detail }),
    };
    done.push(entry);
    const context = { reason, ms: entry.ms, ...(detail === undefined ? {} : { detail }) };
    if (outcome === 'done') logger.info(`Shutdown: ${planned.step}`, context);
    else logger.warn(`Shutdown: ${planned.step} ${outcome}`, context);
  }
  const clean = done.every((step) => step.outcome === 'done');
  logger.info(clean ? 'Shut down' : 'Shut down, not cleanly', {
    reason,
    ms: Date.now() - (deadline - options.timeoutMs),
  });
  return { reason, clean, steps: done };
}

const TIMED_OUT = Symbol('timed out');

/** Something `shutdownOnSignals` can shut down: a composed app. */
export interface ShutsDown {
  shutdown(options?: ShutdownOptions): Promise<ShutdownReport>;
  readonly logger: Logger;
}

/** Options of `shutdownOnSignals`. */
export interface SignalOptions {
  /** Signals to act on. Default `SIGTERM` and `SIGINT`. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Runs first, e.g. to stop an HTTP server taking requests. Its failure is logged, and the shutdown goes on. */
  readonly before?: () => unknown;
  /** Runs last, e.g. to flush telemetry. Its failure is logged. */
  readonly after?: () => unknown;
  /** Milliseconds for the app's shutdown. Default `config.shutdownTimeout` seconds. */
  readonly timeoutMs?: number;
  /**
   * What ends the process once shut down: `true` (default) exits with 0 after a clean shutdown, 1
   * otherwise; `false` leaves the process running (its event loop ends it); a function is called
   * with the code instead.
   */
  readonly exit?: boolean | ((code: number) => void);
}

/**
 * On the first SIGTERM or SIGINT: runs `before`, shuts the app down (stops consuming, lets handlers
 * in flight finish within the deadline, flushes the outbox relay, closes the adapters in order),
 * runs `after`, and exits. A second signal while it runs is logged and changes nothing.
 * @returns A function that removes the signal listeners.
 */
export function shutdownOnSignals(app: ShutsDown, options: SignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let running: Promise<void> | undefined;
  const hook = async (name: string, run: (() => unknown) | undefined) => {
    if (run === undefined) return;
    try {
      await run();
    } catch (error) {
      app.logger.error(`Shutdown: ${name} failed`, {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (running !== undefined) {
      app.logger.warn('Shutdown already in progress', { signal });
      return;
    }
    running = (async () => {
      await hook('before', options.before);
      const report = await app.shutdown({
        reason: signal,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
      await hook('after', options.after);
      const code = report.clean ? 0 : 1;
      if (typeof options.exit === 'function') options.exit(code);
      else if (options.exit !== false) process.exit(code);
    })();
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

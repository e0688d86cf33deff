import { type Cqrs, type CqrsOptions, createCqrs } from '../buses/cqrs';
import type { AsyncOptions } from '../buses/shared';
import { currentTransaction } from '../buses/unit-of-work';
import type { Worker, WorkerOptions } from '../buses/worker';
import { configFromEnv, type DomainConfig } from '../config';
import type { Command } from '../messages';
import type { CacheStore } from '../ports/cache-store';
import type { CheckpointStore, EventStore } from '../ports/event-store';
import type { HealthCheck } from '../ports/health';
import { consoleLogger, silentLogger, withLogLevel } from '../ports/logger';
import type { TransactionManager } from '../ports/transaction-manager';
import type { Transport } from '../ports/transport';
import type { Driver, DriverContext, Persistence, Relay } from './driver';
import { configuredValue, findDriver } from './find-driver';
import { type AppHealth, gatherHealth, type HealthSource, stoppedHealth } from './health';
import { type PlannedStep, runShutdown, type ShutdownOptions, type ShutdownReport } from './shutdown';

/** The adapters a composed app runs on. */
export interface ComposedAdapters {
  readonly transport: Transport;
  readonly cache: CacheStore;
  readonly eventStore: EventStore;
  readonly transactionManager: TransactionManager;
  readonly checkpointStore: CheckpointStore;
}

/** Options of `composeCqrs()`: `createCqrs()`'s, with adapters built from configuration. */
export interface ComposeOptions
  extends Omit<CqrsOptions, 'config' | 'transport' | 'cache' | 'transactionManager'> {
  /** Default: `configFromEnv()` (the process's environment over the guide's defaults). */
  readonly config?: DomainConfig;
  /**
   * Drivers to use before looking for the configured adapters' packages by name. Give them when a
   * bundler cannot follow imports by name, or to use a driver of your own.
   */
  readonly drivers?: readonly Driver[];
  /** Adapters to use as they are instead of building them (an existing client, tests). Closed on shutdown too. */
  readonly adapters?: Partial<ComposedAdapters>;
  /** Run the outbox relay in this process. Default `config.adapters.postgres.relay`. */
  readonly relay?: boolean;
}

/** A composed app: the buses, the adapters configuration chose, health and graceful shutdown. */
export interface ComposedCqrs extends Cqrs {
  readonly adapters: ComposedAdapters;
  /**
   * True when async messages sent inside a transaction are written to an outbox in that
   * transaction and sent by a relay after commit (`EVENT_STORE=postgres`): nothing is lost if the
   * process dies after the commit.
   */
  readonly outbox: boolean;
  /**
   * `commandBus.dispatchAsync`, through the outbox when there is one: outside a transaction the
   * command is written in a short transaction of its own, so that once this resolves the command is
   * stored, whether or not the broker is reachable now. Resolves with the message id.
   */
  dispatchAsync(command: Command<unknown>, options?: AsyncOptions): Promise<string>;
  /** Every adapter's readiness, for liveness and readiness probes. Never rejects. */
  health(options?: { readonly timeoutMs?: number }): Promise<AppHealth>;
  /**
   * Graceful shutdown: stops consuming and lets handlers in flight finish, flushes the outbox
   * relay, then closes the buses, the transport, the cache and the stores, all within the deadline
   * (what is still running then is left; unacknowledged messages are delivered again later).
   * Logs each step. Idempotent: a second call resolves with the same report.
   */
  shutdown(options?: ShutdownOptions): Promise<ShutdownReport>;
  /** `shutdown()` with the default deadline. */
  close(): Promise<void>;
}

/** Closes what was opened before a failure, ignoring their own failures. */
async function closeAll(opened: readonly { close(): Promise<void> }[]): Promise<void> {
  await Promise.allSettled(opened.map((adapter) => adapter.close()));
}

/**
 * Builds the whole app from configuration: the transport named by `QUEUE_CONNECTION`, the cache by
 * `CACHE_DRIVER`, the event store, transaction manager and checkpoint store by `EVENT_STORE` (with
 * an outbox relay on PostgreSQL), and the buses over them. Each adapter comes from its package's
 * driver, imported by name when configured (so an app installs only what it uses).
 * @throws ConfigError for a bad configuration value; DriverNotInstalledError (with the install
 *   command) when a configured adapter's package is missing.
 */
export async function composeCqrs(options: ComposeOptions = {}): Promise<ComposedCqrs> {
  const config = options.config ?? configFromEnv();
  const { drivers = [], adapters: given = {}, relay: relayOption, ...cqrsOptions } = options;
  const base = cqrsOptions.logger ?? consoleLogger();
  const logger = base === silentLogger ? base : withLogLevel(base, config.logLevel);
  const context: DriverContext = { config, logger };
  const opened: { close(): Promise<void> }[] = [];
  let persistence: Persistence | undefined;
  let transport: Transport;
  let cache: CacheStore;
  try {
    const needsPersistence =
      given.eventStore === undefined ||
      given.transactionManager === undefined ||
      given.checkpointStore === undefined;
    // Every driver is found before anything connects: a missing package fails with nothing opened.
    const [transportDriver, cacheDriver, persistenceDriver] = await Promise.all([
      given.transport === undefined ? findDriver(config, 'transports', drivers) : undefined,
      given.cache === undefined ? findDriver(config, 'caches', drivers) : undefined,
      needsPersistence ? findDriver(config, 'persistence', drivers) : undefined,
    ]);
    const build = <T>(driver: Driver | undefined, kind: 'transports' | 'caches' | 'persistence') =>
      (driver?.[kind] as Record<string, (c: DriverContext) => T> | undefined)?.[
        configuredValue(config, kind)
      ];
    transport =
      given.transport ??
      ((await build<Transport | Promise<Transport>>(transportDriver, 'transports')?.(context)) as Transport);
    opened.push(transport);
    cache =
      given.cache ??
      ((await build<CacheStore | Promise<CacheStore>>(cacheDriver, 'caches')?.(context)) as CacheStore);
    opened.push(cache);
    if (needsPersistence) {
      persistence = await build<Promise<Persistence>>(persistenceDriver, 'persistence')?.(context);
      if (persistence !== undefined) opened.push(persistence);
    }
  } catch (error) {
    await closeAll(opened);
    throw error;
  }
  const adapters: ComposedAdapters = {
    transport,
    cache,
    eventStore: given.eventStore ?? (persistence as Persistence).eventStore,
    transactionManager: given.transactionManager ?? (persistence as Persistence).transactionManager,
    checkpointStore: given.checkpointStore ?? (persistence as Persistence).checkpointStore,
  };
  // An outbox only when the transaction manager in use is the one that writes it.
  const outbox = persistence?.outbox === true && given.transactionManager === undefined;
  const cqrs = createCqrs({
    ...cqrsOptions,
    config,
    transport,
    cache,
    transactionManager: adapters.transactionManager,
  });
  let relay: Relay | undefined;
  if (outbox && (relayOption ?? config.adapters.postgres.relay) && persistence?.startRelay !== undefined) {
    try {
      relay = await persistence.startRelay(transport, cqrs.logger);
    } catch (error) {
      await cqrs.close();
      await closeAll(opened);
      throw error;
    }
  }

  const workers: Worker[] = [];
  let shuttingDown: Promise<ShutdownReport> | undefined;
  const sources: HealthSource[] = [
    { component: 'transport', adapter: transport.name, required: true, ...bound(transport) },
    { component: 'cache', adapter: cache.name, required: false, ...bound(cache) },
    {
      component: 'eventStore',
      adapter: adapters.eventStore.name,
      required: true,
      ...bound(adapters.eventStore),
    },
    {
      component: 'transactionManager',
      adapter: adapters.transactionManager.name,
      required: true,
      ...bound(adapters.transactionManager),
    },
    ...(relay === undefined
      ? []
      : [{ component: 'relay' as const, adapter: 'outbox', required: true, ...bound(relay) }]),
  ];

  // Closing steps run even past the deadline, for a fifth of the shutdown's time (at most 5 s).
  const plan = (graceMs: number): PlannedStep[] => [
    {
      step: 'stop consumers',
      run: async () => {
        await Promise.all(workers.map((worker) => worker.close()));
        return `${workers.length} worker(s) stopped, handlers in flight finished`;
      },
    },
    ...(relay === undefined
      ? []
      : [
          {
            step: 'flush outbox',
            run: async (deadline: number) =>
              `${await (relay as Relay).flush(deadline)} outbox message(s) sent`,
          },
          { step: 'stop relay', graceMs, run: async () => void (await (relay as Relay).stop()) },
        ]),
    // Workers first (above), then the transport (it finishes its sends), cache and transaction manager.
    { step: 'close buses, transport and cache', graceMs, run: async () => void (await cqrs.close()) },
    {
      step: 'close event store',
      graceMs,
      run: async () => {
        await Promise.all([given.eventStore?.close(), closeIfAble(given.checkpointStore)]);
        await persistence?.close();
        return undefined;
      },
    },
  ];

  const shutdown = (shutdownOptions?: ShutdownOptions): Promise<ShutdownReport> => {
    const timeoutMs = shutdownOptions?.timeoutMs ?? config.shutdownTimeout * 1000;
    shuttingDown ??= runShutdown(plan(Math.min(5_000, timeoutMs / 5)), {
      reason: shutdownOptions?.reason ?? 'shutdown()',
      timeoutMs,
      logger: cqrs.logger,
    });
    return shuttingDown;
  };

  return {
    ...cqrs,
    adapters,
    outbox,
    async startWorker(workerOptions?: WorkerOptions) {
      const worker = await cqrs.startWorker(workerOptions);
      workers.push(worker);
      return worker;
    },
    dispatchAsync(command, sendOptions) {
      if (!outbox || currentTransaction() !== undefined)
        return cqrs.commandBus.dispatchAsync(command, sendOptions);
      return cqrs.transaction(() => cqrs.commandBus.dispatchAsync(command, sendOptions));
    },
    async health(healthOptions) {
      if (shuttingDown !== undefined) return stoppedHealth();
      return gatherHealth(sources, healthOptions?.timeoutMs ?? 2_000);
    },
    shutdown,
    async close() {
      await shutdown({ reason: 'close()' });
    },
  };
}

/** The `health` member of an adapter, bound to it, when it has one. */
function bound(adapter: { health?(): Promise<readonly HealthCheck[]> }): Pick<HealthSource, 'health'> {
  const health = adapter.health;
  return health === undefined ? {} : { health: () => health.call(adapter) };
}

async function closeIfAble(store: CheckpointStore | undefined): Promise<void> {
  const close = (store as { close?: () => Promise<void> } | undefined)?.close;
  if (typeof close === 'function') await close.call(store);
}

/**
 * The transport `QUEUE_CONNECTION` names, alone, from the same drivers as `composeCqrs()`: for a
 * process that only sends, or a tool that lists dead letters. Its `close()` closes it.
 * @throws ConfigError, DriverNotInstalledError as `composeCqrs()`.
 */
export async function composeTransport(
  options: Pick<ComposeOptions, 'config' | 'drivers' | 'logger'> = {},
): Promise<Transport> {
  const config = options.config ?? configFromEnv();
  const base = options.logger ?? consoleLogger();
  const logger = base === silentLogger ? base : withLogLevel(base, config.logLevel);
  const driver = await findDriver(config, 'transports', options.drivers ?? []);
  const build = driver.transports?.[config.queueConnection] as (
    context: DriverContext,
  ) => Transport | Promise<Transport>;
  return build({ config, logger });
}

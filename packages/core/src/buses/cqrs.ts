import { type DomainConfig, defineConfig } from '../config';
import type { CacheStore } from '../ports/cache-store';
import { consoleLogger, type Logger, silentLogger, withLogLevel } from '../ports/logger';
import type { TransactionContext, TransactionManager } from '../ports/transaction-manager';
import type { Transport } from '../ports/transport';
import { MessageRegistry } from '../serialization';
import { AfterCommit, type AfterCommitOptions, type AfterCommitStats } from './after-commit';
import type { CacheInvalidationOptions } from './cache-invalidation';
import { CommandBus, type TransactionRunOptions } from './command-bus';
import { EventBus } from './event-bus';
import type { Instrumentation } from './instrumentation';
import { isLoggingMiddleware, loggingMiddleware, type Middleware } from './middleware';
import { QueryBus } from './query-bus';
import type { BusContext } from './shared';
import { startWorker, type Worker, type WorkerOptions } from './worker';

/** What `createCqrs()` builds the buses from: the config and the adapters, all optional. */
export interface CqrsOptions {
  /** Defaults to `defineConfig()` (the guide's values). */
  readonly config?: DomainConfig;
  /** Where async commands and events go. Needed for `dispatchAsync`, `publishAsync` and workers. */
  readonly transport?: Transport;
  /** Where `askCached` keeps results. Without one, `askCached` runs the handler every time. */
  readonly cache?: CacheStore;
  /** Needed for `dispatchTransaction`. */
  readonly transactionManager?: TransactionManager;
  /**
   * Where log lines go. Default: console lines as in the guide. Unless the logger is
   * `silentLogger`, `config.logLevel` is `warn` or quieter, or `middleware` already holds a
   * `loggingMiddleware`, every dispatch, ask and publish writes the guide's line at info level
   * (failures at error level), as the guide's "all infrastructure components log automatically".
   */
  readonly logger?: Logger;
  /** Runs around every dispatch, ask and publish, first one outermost (after the logging one). */
  readonly middleware?: readonly Middleware[];
  /** Retries and the undelivered hook for async messages held by a transaction without an outbox. */
  readonly afterCommit?: AfterCommitOptions;
  /**
   * Telemetry hooks (e.g. `otelInstrumentation()` from `@finaegis/opentelemetry`): its middleware
   * runs outermost, its `send` / `consume` hooks around every async message leaving and handled.
   */
  readonly instrumentation?: Instrumentation;
  /** How cache invalidation rides out a failing or slow cache store. */
  readonly cacheInvalidation?: CacheInvalidationOptions;
  /** Share one registry between apps; default a new one. */
  readonly registry?: MessageRegistry;
}

/** The three buses wired together, and the adapters they use. */
export interface Cqrs {
  readonly config: DomainConfig;
  readonly registry: MessageRegistry;
  readonly commandBus: CommandBus;
  readonly queryBus: QueryBus;
  readonly eventBus: EventBus;
  readonly logger: Logger;
  /** Runs `work` in a new unit of work (see `EventBus.unitOfWork`). */
  unitOfWork<T>(work: () => Promise<T>): Promise<T>;
  /** Runs `work` in a transaction (see `CommandBus.transaction`). */
  transaction<T>(work: (tx: TransactionContext) => Promise<T>, options?: TransactionRunOptions): Promise<T>;
  /** Counters of the after-commit phase (sent, retried, undelivered, failed subscribers). */
  afterCommitStats(): AfterCommitStats;
  /** Starts consuming the async channels in this process. */
  startWorker(options?: WorkerOptions): Promise<Worker>;
  /** Closes workers, then the transport, cache and transaction manager given to it. Idempotent. */
  close(): Promise<void>;
}

/** Builds the command, query and event buses over the given adapters. */
export function createCqrs(options: CqrsOptions = {}): Cqrs {
  const config = options.config ?? defineConfig();
  const given = options.logger ?? consoleLogger();
  const logger = given === silentLogger ? given : withLogLevel(given, config.logLevel);
  const middleware = [...(options.middleware ?? [])];
  const logsLines =
    given !== silentLogger &&
    (config.logLevel === 'debug' || config.logLevel === 'info') &&
    !middleware.some(isLoggingMiddleware);
  if (logsLines) middleware.unshift(loggingMiddleware(logger));
  if (options.instrumentation?.middleware !== undefined)
    middleware.unshift(options.instrumentation.middleware);
  const context: BusContext = {
    config,
    registry: options.registry ?? new MessageRegistry(),
    logger,
    middleware,
    transport: options.transport,
    cache: options.cache,
    transactionManager: options.transactionManager,
    afterCommit: new AfterCommit(logger, options.afterCommit),
    instrumentation: options.instrumentation,
  };
  const eventBus = new EventBus(context);
  const commandBus = new CommandBus(context, eventBus);
  const queryBus = new QueryBus(context, options.cacheInvalidation);
  const workers: Worker[] = [];
  let closing: Promise<void> | undefined;
  return {
    config: context.config,
    registry: context.registry,
    logger: context.logger,
    commandBus,
    queryBus,
    eventBus,
    unitOfWork: (work) => eventBus.unitOfWork(work),
    transaction: (work, runOptions) => commandBus.transaction(work, runOptions),
    afterCommitStats: () => context.afterCommit.stats(),
    async startWorker(workerOptions) {
      const worker = await startWorker(context, commandBus, eventBus, workerOptions);
      workers.push(worker);
      return worker;
    },
    close() {
      closing ??= (async () => {
        await Promise.allSettled(workers.map((w) => w.close()));
        queryBus.close();
        await Promise.allSettled([
          context.transport?.close(),
          context.cache?.close(),
          context.transactionManager?.close(),
        ]);
      })();
      return closing;
    },
  };
}

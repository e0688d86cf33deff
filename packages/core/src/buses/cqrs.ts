import { type DomainConfig, defineConfig } from '../config';
import type { CacheStore } from '../ports/cache-store';
import { consoleLogger, type Logger } from '../ports/logger';
import type { TransactionContext, TransactionManager } from '../ports/transaction-manager';
import type { Transport } from '../ports/transport';
import { MessageRegistry } from '../serialization';
import { CommandBus, type TransactionRunOptions } from './command-bus';
import { EventBus } from './event-bus';
import type { Middleware } from './middleware';
import { QueryBus } from './query-bus';
import type { BusContext } from './shared';
import { startWorker, type Worker, type WorkerOptions } from './worker';

export interface CqrsOptions {
  /** Defaults to `defineConfig()` (the guide's values). */
  readonly config?: DomainConfig;
  /** Where async commands and events go. Needed for `dispatchAsync`, `publishAsync` and workers. */
  readonly transport?: Transport;
  /** Where `askCached` keeps results. Without one, `askCached` runs the handler every time. */
  readonly cache?: CacheStore;
  /** Needed for `dispatchTransaction`. */
  readonly transactionManager?: TransactionManager;
  /** Default: console lines as in the guide. */
  readonly logger?: Logger;
  /** Runs around every dispatch, ask and publish, first one outermost. */
  readonly middleware?: readonly Middleware[];
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
  /** Starts consuming the async channels in this process. */
  startWorker(options?: WorkerOptions): Promise<Worker>;
  /** Closes workers, then the transport, cache and transaction manager given to it. Idempotent. */
  close(): Promise<void>;
}

/** Builds the command, query and event buses over the given adapters. */
export function createCqrs(options: CqrsOptions = {}): Cqrs {
  const context: BusContext = {
    config: options.config ?? defineConfig(),
    registry: options.registry ?? new MessageRegistry(),
    logger: options.logger ?? consoleLogger(),
    middleware: [...(options.middleware ?? [])],
    transport: options.transport,
    cache: options.cache,
    transactionManager: options.transactionManager,
  };
  const eventBus = new EventBus(context);
  const commandBus = new CommandBus(context, eventBus);
  const queryBus = new QueryBus(context);
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
    async startWorker(workerOptions) {
      const worker = await startWorker(context, commandBus, eventBus, workerOptions);
      workers.push(worker);
      return worker;
    },
    close() {
      closing ??= (async () => {
        await Promise.allSettled(workers.map((w) => w.close()));
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

import {
  type AsyncOptions,
  type Command,
  type ComposedAdapters,
  type ComposedCqrs,
  composeCqrs,
  composeTransport,
  type DomainConfig,
  type DomainEvent,
  defineConfig,
  type EventInit,
  HandlerNotFoundError,
  type Instrumentation,
  type Logger,
  type Message,
  type MessageClass,
  type Middleware,
  type Transport,
} from '@finaegis/core';
import { DEMO_ACCOUNTS, type DemoConfig, SEED_BALANCES } from './config/domain';
import { ExchangeEngine } from './domain/engine';
import {
  CancelOrderCommand,
  DepositCommand,
  EXCHANGE_MESSAGES,
  GetBalancesQuery,
  GetOrderBookQuery,
  GetOrderQuery,
  type IdempotencyClaim,
  ListOrdersQuery,
  OrderAddedToBook,
  OrderCancelled,
  OrderMatched,
  OrderPlaced,
  OrderRemovedFromBook,
  PlaceOrderCommand,
} from './domain/messages';
import type { OrderBookView } from './domain/views';
import { type ExchangeFigures, startCommittedEffects } from './figures';
import { attachWithdrawals } from './withdrawals/attach';
import type { Withdrawals } from './withdrawals/module';

/** Adapters a test may put in place of the configured ones (closed by `ExchangeApp.close()`). */
export type Adapters = Pick<ComposedAdapters, 'transport' | 'cache' | 'eventStore' | 'transactionManager'>;

/** What the demo's processes share: the buses, the engine and some counters. */
export interface ExchangeApp {
  readonly config: DemoConfig;
  /** The app `composeCqrs()` built from the configuration: buses, adapters, health, shutdown. */
  readonly cqrs: ComposedCqrs;
  readonly engine: ExchangeEngine;
  readonly adapters: ComposedAdapters;
  /** Counted in this process. */
  readonly stats: ExchangeStats;
  /**
   * Orders placed and trades: on PostgreSQL counted once from the committed events for every
   * process (the same in each, and complete after a crash), else this process's counters.
   */
  figures(): Promise<ExchangeFigures>;
  /** Withdrawals as a process (`src/withdrawals`). */
  readonly withdrawals: Withdrawals;
  /** Accounts by bearer token. */
  readonly tokens: ReadonlyMap<string, string>;
  /**
   * Stores the answer to an async order request under its Idempotency-Key, before the command is
   * sent. Returns the first answer when the key was used before, and whether this call stored it.
   * @throws IdempotencyKeyReusedError when the key came with another request before.
   */
  acceptOrder<T extends { readonly orderId: string }>(
    accountId: string,
    claim: IdempotencyClaim,
    answer: T,
    correlationId: string,
  ): Promise<{ answer: T; first: boolean }>;
  /**
   * The order book through the query cache, unless an invalidation failed in this process and no
   * clear has worked since: then it is read past the cache, so a change that was stored shows.
   */
  orderBook(query: GetOrderBookQuery): Promise<OrderBookView>;
  /**
   * Sends a command to the workers (`ComposedCqrs.dispatchAsync`). With PostgreSQL it is written to
   * the outbox in a transaction of its own and a relay moves it to the broker after commit (nothing
   * is lost if this process dies after the call); otherwise it goes straight to the transport.
   * Returns the message id.
   */
  dispatchAsync(command: Command<unknown>, options?: AsyncOptions): Promise<string>;
  /** Deposits the demo accounts' starting balances, once (deposit ids make it idempotent). */
  seed(): Promise<void>;
  /**
   * Stops the projectors that follow the committed events (before a graceful shutdown closes the
   * pool; `close()` does it too). Idempotent.
   */
  stopProjectors(): Promise<void>;
  close(): Promise<void>;
}

export interface ExchangeStats {
  ordersPlaced: number;
  trades: number;
  /**
   * Failures after a change was stored (a subscriber that threw, a send that failed): logged and
   * counted here, never turned into an error for the request that made the change.
   */
  afterCommitFailures: number;
}

export interface CreateAppOptions {
  readonly logger?: Logger;
  /** Bus middleware (core adds the logging middleware itself when `config.domain.logLevel` is info or debug). */
  readonly middleware?: readonly Middleware[];
  /** Adapters to use instead of the configured ones (tests). */
  readonly adapters?: Partial<Adapters>;
  /** Telemetry hooks for the buses (`@finaegis/opentelemetry`). */
  readonly instrumentation?: Instrumentation;
  /**
   * Run an outbox relay in this process (the API processes do): with the PostgreSQL event store,
   * async commands are written to the outbox and the relay sends them. Default false.
   */
  readonly relay?: boolean;
}

/**
 * The bus configuration with the demo's names: queue, topic, group and cache key prefixes from the
 * exchange stream name, so that demos on one broker do not meet, and the event store schema.
 */
export function composedConfig(config: DemoConfig): DomainConfig {
  const { adapters } = config.domain;
  return defineConfig({
    ...config.domain,
    adapters: {
      ...adapters,
      bullmq: { ...adapters.bullmq, prefix: `${config.stream}-bull` },
      kafka: {
        ...adapters.kafka,
        // KAFKA_CLIENT_ID when set, else the demo's own.
        clientId: adapters.kafka.clientId === 'finaegis' ? 'finaegis-demo' : adapters.kafka.clientId,
        topicPrefix: `${config.stream}.`,
        groupIdPrefix: `${config.stream}.`,
      },
      cache: { keyPrefix: `${config.stream}-cache` },
      postgres: { ...adapters.postgres, schema: config.schema },
    },
  });
}

/** The transport named by QUEUE_CONNECTION, with the demo's names (for tools and tests that only send). */
export function createTransport(config: DemoConfig): Promise<Transport> {
  return composeTransport({ config: composedConfig(config) });
}

/** Correlation and causation of the events a command causes. */
function eventInit(command: Message): EventInit {
  const correlationId = command.metadata.correlationId;
  return {
    correlationId: typeof correlationId === 'string' ? correlationId : command.messageId,
    causationId: command.messageId,
  };
}

/**
 * Composes the exchange: the adapters and buses from configuration (`composeCqrs()`), then the
 * exchange's handlers and subscribers. The broker and database adapters are loaded only when
 * configured, so the embedded (memory) demo needs nothing else installed or running.
 */
export async function createExchangeApp(
  config: DemoConfig,
  options: CreateAppOptions = {},
): Promise<ExchangeApp> {
  const cqrs = await composeCqrs({
    config: composedConfig(config),
    relay: options.relay === true,
    ...(options.adapters === undefined ? {} : { adapters: options.adapters }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.middleware === undefined ? {} : { middleware: options.middleware }),
    ...(options.instrumentation === undefined ? {} : { instrumentation: options.instrumentation }),
  });
  cqrs.registry.register(...EXCHANGE_MESSAGES);
  const adapters = cqrs.adapters;
  const stats: ExchangeStats = {
    ordersPlaced: 0,
    trades: 0,
    afterCommitFailures: 0,
  };
  let stored = 0; // decisions stored by this process (for the fault hook)
  const engine = new ExchangeEngine({
    store: adapters.eventStore,
    registry: cqrs.registry,
    streamId: config.stream,
    // On PostgreSQL each decision takes the stream's write lock in a transaction (see the engine).
    ...(cqrs.outbox && config.streamLock
      ? { transaction: <T>(work: () => Promise<T>) => cqrs.transaction(() => work()) }
      : {}),
    // The engine calls this once the events are stored: the change is committed, so whatever a
    // subscriber does wrong now is logged and counted, and the command still succeeds (an HTTP
    // request answers with its result; a worker acknowledges its message instead of retrying a
    // decision that is already made). Inside a database transaction `publishMultiple` holds the
    // events until commit, and the bus treats failures after commit the same way.
    publish: async (events: readonly DomainEvent[]) => {
      stored += 1;
      if (stored === config.faultKillAfterAppend) process.kill(process.pid, 'SIGKILL');
      try {
        await cqrs.eventBus.publishMultiple(events);
      } catch (error) {
        stats.afterCommitFailures += 1;
        cqrs.logger.error('Subscriber failed after the events were stored', {
          events: events.length,
          correlationId: events[0]?.correlationId,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    },
  });

  const { commandBus, queryBus, eventBus } = cqrs;
  commandBus.register(PlaceOrderCommand, (command) =>
    engine.execute((exchange) => exchange.placeOrder(command, eventInit(command))),
  );
  commandBus.register(CancelOrderCommand, (command) =>
    engine.execute((exchange) => exchange.cancelOrder(command, eventInit(command))),
  );
  commandBus.register(DepositCommand, (command) =>
    engine.execute((exchange) => exchange.deposit(command, eventInit(command))),
  );
  queryBus.register(GetOrderBookQuery, (query) =>
    engine.read((exchange) => exchange.orderBook(query.pair, query.depth)),
  );
  queryBus.register(GetOrderQuery, (query) =>
    engine.read((exchange) => {
      const order = exchange.order(query.orderId);
      return order === undefined || order.accountId !== query.accountId ? null : order;
    }),
  );
  queryBus.register(ListOrdersQuery, (query) =>
    engine.read((exchange) => exchange.listOrders(query.accountId, query.limit, query.before)),
  );
  queryBus.register(GetBalancesQuery, (query) =>
    engine.read((exchange) => exchange.balances(query.accountId)),
  );

  // The cached order book must go first: later subscribers (and the next request) read the book.
  // `invalidateType` never throws (a failing or slow store is logged, counted and retried in the
  // background), but until a clear works the cache may still hold the book from before the change.
  // So a failure seen here makes this process read the book past the cache until it has cleared
  // the cache itself (other processes sharing the cache see the change when the entry's TTL ends).
  const bookNamespace = queryBus.namespaceOf(GetOrderBookQuery);
  let bookCacheSuspect = false;
  const invalidateBook = async () => {
    const failuresBefore = queryBus.cacheStats().invalidationFailures;
    await queryBus.invalidateType(GetOrderBookQuery);
    if (queryBus.cacheStats().invalidationFailures > failuresBefore) bookCacheSuspect = true;
  };
  /** Whether the cache can be trusted for the order book again (a clear of its own worked). */
  const bookCacheUsable = async (): Promise<boolean> => {
    if (!bookCacheSuspect) return true;
    try {
      // Directly on the store: the bus would log and schedule retries for every page poll.
      await adapters.cache.clear(bookNamespace);
      bookCacheSuspect = false;
      return true;
    } catch {
      return false;
    }
  };
  const bookChanges: MessageClass<DomainEvent>[] = [
    OrderAddedToBook,
    OrderRemovedFromBook,
    OrderMatched,
    OrderCancelled,
  ];
  for (const eventClass of bookChanges) {
    eventBus.subscribe(eventClass, invalidateBook, { priority: 10, name: 'invalidate order book cache' });
  }
  eventBus.subscribe(
    OrderPlaced,
    () => {
      stats.ordersPlaced += 1;
    },
    { priority: 5, name: 'count placed orders' },
  );
  eventBus.subscribe(
    OrderPlaced,
    (event) =>
      cqrs.logger.debug('Order placed', {
        orderId: event.orderId,
        pair: event.pair,
        correlationId: event.correlationId,
      }),
    { priority: 1, name: 'log placed orders' },
  );
  eventBus.subscribe(
    OrderMatched,
    () => {
      stats.trades += 1;
    },
    { priority: 5, name: 'count trades' },
  );

  // What must follow a committed event even when the process that stored it died before publishing.
  const effects = await startCommittedEffects({
    cqrs,
    config,
    logger: cqrs.logger,
    invalidateBooks: invalidateBook,
    bookChanges,
  });

  const tokens = new Map(DEMO_ACCOUNTS.map((account) => [account.token, account.accountId]));
  const withdrawals = await attachWithdrawals(cqrs, config, adapters.transport, {
    relay: options.relay === true,
  });
  return {
    config,
    cqrs,
    engine,
    adapters,
    stats,
    tokens,
    withdrawals,
    async acceptOrder(accountId, claim, answer, correlationId) {
      // In demo mode nothing may be stored, as no command can run.
      if (!commandBus.has(PlaceOrderCommand)) {
        throw new HandlerNotFoundError(
          'command',
          PlaceOrderCommand.messageType,
          !config.domain.enableHandlers,
        );
      }
      return engine.execute((exchange) => exchange.acceptOrder(accountId, claim, answer, { correlationId }));
    },
    async orderBook(query) {
      if (!(await bookCacheUsable())) return queryBus.ask(query);
      return queryBus.askCached(query, { ttl: config.orderBookTtl });
    },
    dispatchAsync: (command, sendOptions) => cqrs.dispatchAsync(command, sendOptions),
    async seed() {
      // In the guide's demo mode (DOMAIN_ENABLE_HANDLERS=false) nothing can be dispatched.
      if (!commandBus.has(DepositCommand)) return;
      for (const account of DEMO_ACCOUNTS) {
        for (const [asset, amount] of Object.entries(SEED_BALANCES)) {
          await commandBus.dispatch(
            new DepositCommand(`seed-${account.accountId}-${asset}`, account.accountId, asset, amount),
          );
        }
      }
    },
    async figures() {
      if (effects !== undefined) return effects.figures();
      return { source: 'process', ordersPlaced: stats.ordersPlaced, trades: stats.trades };
    },
    stopProjectors: async () => effects?.stop(),
    // The projectors first (they use the pool); then stops consuming, flushes the outbox relay and
    // closes the adapters in order.
    async close() {
      await effects?.stop();
      await withdrawals.close();
      await cqrs.close();
    },
  };
}

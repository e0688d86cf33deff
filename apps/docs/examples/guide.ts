// "From the guide": each region is the TypeScript form of one snippet of the Infrastructure
// Development Guide, shown beside the guide's PHP on the page. The whole file runs on the memory
// adapters in the docs build and must print guide.output.txt.
import {
  Command,
  CommandExecutionError,
  CommandValidationError,
  configFromEnv,
  createCqrs,
  DomainEvent,
  defineConfig,
  type LogContext,
  type Logger,
} from '@finaegis/core';
import {
  createMemoryCacheStore,
  createMemoryTransactionManager,
  createMemoryTransport,
} from '@finaegis/memory';
import {
  GetOrderBookQuery,
  type OrderBook,
  OrderPlaced,
  OrderService,
  PlaceOrderCommand,
  PlaceOrderHandler,
} from './guide-messages';

// A logger that keeps the guide's lines without the time and duration, so that the output is stable.
const logLines: string[] = [];
const logger: Logger = {
  debug: () => {},
  info: (message: string, context?: LogContext) => {
    const { durationMs: _, ...rest } = context ?? {};
    logLines.push(`domain.INFO: ${message} ${JSON.stringify(rest)}`);
  },
  warn: () => {},
  error: () => {},
};

// #region register-handler
import { lazy } from '@finaegis/core';

const orderService = new OrderService();
const app = createCqrs({
  config: configFromEnv({ DOMAIN_ENABLE_HANDLERS: 'true' }), // your process.env by default
  transport: createMemoryTransport(),
  cache: createMemoryCacheStore(),
  transactionManager: createMemoryTransactionManager(),
  logger,
});

// With enableHandlers false (DOMAIN_ENABLE_HANDLERS=false) register() does nothing, and
// dispatching fails with HandlerNotFoundError saying handlers are disabled.
app.commandBus.register(
  PlaceOrderCommand,
  lazy(() => new PlaceOrderHandler(orderService)), // built on first use, like a container would
);
// #endregion register-handler

class UpdateBalanceCommand extends Command<string> {
  static readonly messageType = 'exchange.UpdateBalance';
  constructor(
    readonly userId: string,
    readonly asset: string,
    readonly delta: string,
  ) {
    super();
  }
}
app.commandBus.register(UpdateBalanceCommand, (command) => `${command.asset} ${command.delta}`);

// #region dispatch-command
const order = await app.commandBus.dispatch(new PlaceOrderCommand('123', 'market', 'buy', '0.1', 'BTC/USD')); // typed: Order

// Async dispatch: validated now, handled by a worker (app.startWorker()) in 60 seconds.
await app.commandBus.dispatchAsync(new PlaceOrderCommand('123', 'market', 'buy', '0.1', 'BTC/USD'), {
  delay: 60,
});

// Transactional batch: all or nothing, results typed as a tuple [Order, string].
const [placed, balance] = await app.commandBus.dispatchTransaction([
  new PlaceOrderCommand('123', 'limit', 'sell', '0.2', 'BTC/USD', '64000.00'),
  new UpdateBalanceCommand('123', 'BTC', '-0.2'),
]);
// #endregion dispatch-command
console.log(`dispatched ${order.id}; in one transaction ${placed.id} and ${balance}`);

// #region query-handler
const books = new Map<string, OrderBook>([
  ['BTC/USD', { pair: 'BTC/USD', bids: [['63990.00', '0.5']], asks: [['64010.00', '0.3']] }],
  ['ETH/USD', { pair: 'ETH/USD', bids: [['3190.00', '4']], asks: [] }],
]);

class GetOrderBookHandler {
  handle(query: GetOrderBookQuery): OrderBook {
    const book = books.get(query.pair) ?? { pair: query.pair, bids: [], asks: [] };
    return { ...book, bids: book.bids.slice(0, query.depth), asks: book.asks.slice(0, query.depth) };
  }
}
app.queryBus.register(GetOrderBookQuery, new GetOrderBookHandler());
// #endregion query-handler

// #region execute-query
// Simple query
const orderBook = await app.queryBus.ask(new GetOrderBookQuery('BTC/USD'));

// Cached query (1 hour TTL)
const cachedBook = await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'), { ttl: 3600 });

// Multiple queries, run concurrently; keys kept, each result typed
const results = await app.queryBus.askMultiple({
  btc: new GetOrderBookQuery('BTC/USD'),
  eth: new GetOrderBookQuery('ETH/USD'),
});
// #endregion execute-query
await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'), { ttl: 3600 }); // a hit
console.log(
  `best bid ${orderBook.bids[0]?.[0]}, cached ${cachedBook.pair}, ETH bids ${results.eth.bids.length}`,
);

class BalanceUpdated extends DomainEvent {
  static readonly messageType = 'exchange.BalanceUpdated';
  constructor(
    readonly userId: string,
    readonly asset: string,
  ) {
    super({ aggregateId: userId, aggregateType: 'Account' });
  }
}

// #region event-handling
class OrderPlacedHandler {
  readonly seen: string[] = [];
  handle(event: OrderPlaced): void {
    this.seen.push(event.orderId); // update the order book, notify, count ...
  }
}

const orderPlacedHandler = new OrderPlacedHandler();
app.eventBus.subscribe(OrderPlaced, orderPlacedHandler, {
  priority: 10, // higher runs first; from eventBus.priorityLevels (10) down to 0
});
// #endregion event-handling
app.eventBus.subscribe(BalanceUpdated, () => {});

// #region event-publishing
// Publish single event
await app.eventBus.publish(new OrderPlaced(order.id, order.userId, { ...order }, { occurredAt: new Date() }));

// Publish multiple events
await app.eventBus.publishMultiple([
  new OrderPlaced(placed.id, placed.userId, { ...placed }),
  new BalanceUpdated('123', 'BTC'),
]);

// Async publishing: a worker's subscribers get it in 10 seconds
await app.eventBus.publishAsync(new OrderPlaced(order.id, order.userId, {}), { delay: 10 });

// Transaction support: record() needs a unit of work (or a transaction)
await app.unitOfWork(async () => {
  app.eventBus.record(new OrderPlaced('order-9', '123', {}));
  app.eventBus.record(new BalanceUpdated('123', 'BTC'));
  // ... do work ...
  await app.eventBus.dispatchRecorded(); // or clearRecorded() to cancel
});
// #endregion event-publishing
console.log(`OrderPlaced handled for ${orderPlacedHandler.seen.join(', ')}`);

// #region error-handling
try {
  await app.commandBus.dispatch(new PlaceOrderCommand('123', 'limit', 'buy', '0.1', 'BTC/USD'));
} catch (error) {
  if (error instanceof CommandValidationError) {
    console.log(`invalid: ${JSON.stringify(error.fields)}`); // { price: ['a limit order needs a price'] }
  } else if (error instanceof CommandExecutionError) {
    console.log(`the handler failed: ${String(error.cause)}`);
  } else {
    throw error;
  }
}
// #endregion error-handling

class OrderCreated extends DomainEvent {
  static readonly messageType = 'exchange.OrderCreated';
}
class UpdateInventoryCommand extends Command<void> {
  static readonly messageType = 'exchange.UpdateInventory';
}
app.commandBus.register(UpdateInventoryCommand, () => {});
const created: string[] = [];
app.eventBus.subscribe(OrderCreated, (event) => void created.push(event.eventType));

// #region transaction-management
await app.transaction(async () => {
  // Record events for later dispatch
  app.eventBus.record(new OrderCreated());

  // Execute commands
  await app.commandBus.dispatch(new UpdateInventoryCommand());

  // No dispatchRecorded() needed: recorded events are published after the commit,
  // and dropped if the transaction rolls back or times out.
});
// #endregion transaction-management
console.log(`after commit: ${created.join(', ')}`);

// #region config-file
const config = defineConfig({
  enableHandlers: true,
  commandBus: { asyncQueue: 'commands', transactionTimeout: 30 }, // seconds
  queryBus: { cachePrefix: 'query', defaultTtl: 3600 }, // seconds
  eventBus: { asyncQueue: 'events', priorityLevels: 10 },
});
// #endregion config-file

// #region config-env
const fromEnv = configFromEnv({
  DOMAIN_ENABLE_HANDLERS: 'true', // false for demo mode
  QUEUE_CONNECTION: 'bullmq', // memory | bullmq | kafka
  CACHE_DRIVER: 'redis', // memory | redis
  REDIS_URL: 'redis://127.0.0.1:6379',
});
// #endregion config-env
console.log(
  `config: ${config.commandBus.asyncQueue}, ${fromEnv.queueConnection} on ${fromEnv.redisUrl}, cache ${fromEnv.cacheDriver}`,
);

// #region monitoring
const { hits, misses, coalesced } = app.queryBus.cacheStats();
const hitRate = hits / (hits + misses + coalesced);
const afterCommit = app.afterCommitStats(); // { sent, retried, undelivered, subscriberFailures }
// #endregion monitoring
console.log(`cache hit rate ${hitRate.toFixed(2)}, ${afterCommit.undelivered} undelivered`);

await app.close();
console.log(logLines.join('\n'));

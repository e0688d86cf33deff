// Getting started on the memory adapters: no servers, one process. Run by the docs build; it must
// print getting-started.output.txt.
// #region app
import { createCqrs, silentLogger } from '@finaegis/core';
import {
  createMemoryCacheStore,
  createMemoryTransactionManager,
  createMemoryTransport,
} from '@finaegis/memory';
import { GetOrderBookQuery, nextEvent, OrderPlaced, PlaceOrderCommand, registerExchange } from './exchange';

const app = createCqrs({
  transport: createMemoryTransport(), // dispatchAsync / publishAsync and workers
  cache: createMemoryCacheStore(), // askCached
  transactionManager: createMemoryTransactionManager(), // dispatchTransaction / app.transaction
  logger: silentLogger, // the default, consoleLogger(), writes the guide's log lines
});
registerExchange(app);
// #endregion app

// #region use
// In process: the handler runs now and its result is typed (Order).
const order = await app.commandBus.dispatch(new PlaceOrderCommand('u-1', 'BTC/USD', '0.10'));
console.log(`placed ${order.orderId} for ${order.userId}`);

// Cached for 60 seconds; the OrderPlaced subscriber clears it when the book changes.
const book = await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'), { ttl: 60 });
console.log(`${book.pair}: ${book.orders} order(s)`);

// Two commands in one transaction: both or neither; their events leave after the commit.
const [a, b] = await app.commandBus.dispatchTransaction([
  new PlaceOrderCommand('u-2', 'BTC/USD', '0.20'),
  new PlaceOrderCommand('u-3', 'ETH/USD', '1.5'),
]);
console.log(`committed ${a.orderId} and ${b.orderId}`);

// Async: the command goes through the transport to a worker (here, in this process).
await app.startWorker();
const handled = nextEvent(app, OrderPlaced);
await app.commandBus.dispatchAsync(new PlaceOrderCommand('u-4', 'BTC/USD', '0.30'));
console.log(`a worker placed ${(await handled).orderId}`);

const after = await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'), { ttl: 60 });
console.log(`${after.pair}: ${after.orders} order(s)`);
await app.close(); // workers first, then the transport, cache and transaction manager
// #endregion use

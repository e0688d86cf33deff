import { Command, createCqrs, DomainEvent, Query, silentLogger } from '@finaegis/core';
import {
  createMemoryCacheStore,
  createMemoryTransactionManager,
  createMemoryTransport,
} from '@finaegis/memory';

class PlaceOrderCommand extends Command<{ orderId: string }> {
  static readonly messageType = 'PlaceOrderCommand';
  constructor(
    readonly userId: string,
    readonly pair: string,
    readonly amount: string,
  ) {
    super();
  }
}
class GetOrderBookQuery extends Query<{ pair: string; orders: number }> {
  static readonly messageType = 'GetOrderBookQuery';
  constructor(readonly pair: string) {
    super();
  }
}
class OrderPlaced extends DomainEvent {
  static readonly messageType = 'OrderPlaced';
  constructor(
    readonly orderId: string,
    readonly pair: string,
  ) {
    super({ aggregateId: orderId, aggregateType: 'Order' });
  }
}

export async function quickStart(): Promise<string[]> {
  const log: string[] = [];
  const app = createCqrs({
    logger: silentLogger,
    transport: createMemoryTransport(),
    cache: createMemoryCacheStore(),
    transactionManager: createMemoryTransactionManager(),
  });
  const book = new Map<string, number>();

  app.commandBus.register(PlaceOrderCommand, async (cmd) => {
    const orderId = `order-${book.get(cmd.pair) ?? 0}`;
    app.eventBus.record(new OrderPlaced(orderId, cmd.pair)); // leaves after commit
    return { orderId };
  });
  app.queryBus.register(GetOrderBookQuery, (q) => ({ pair: q.pair, orders: book.get(q.pair) ?? 0 }));
  app.eventBus.subscribe(
    OrderPlaced,
    async (e) => {
      book.set(e.pair, (book.get(e.pair) ?? 0) + 1);
      await app.queryBus.invalidateType(GetOrderBookQuery);
    },
    { priority: 10 },
  );
  app.eventBus.subscribe(OrderPlaced, (e) => void log.push(`placed ${e.orderId}`));

  const [order] = await app.commandBus.dispatchTransaction([new PlaceOrderCommand('u-1', 'BTC/USD', '0.1')]);
  log.push(`dispatched ${order.orderId}`);
  const book1 = await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'), { ttl: 60 });
  log.push(`book ${book1.pair} has ${book1.orders} order(s)`);

  await app.startWorker(); // consumes async commands in this process
  await app.commandBus.dispatchAsync(new PlaceOrderCommand('u-2', 'BTC/USD', '0.2'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  log.push(`book has ${(await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'))).orders} order(s)`);
  await app.close();
  return log;
}

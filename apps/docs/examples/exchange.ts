// The small exchange the getting-started pages build: the same messages and handlers run on the
// memory adapters, on BullMQ + Redis and on Kafka + PostgreSQL. Nothing here names an adapter.
import { Command, type Cqrs, DomainEvent, invalid, type MessageClass, Query } from '@finaegis/core';

// #region messages
/** Amounts are decimal strings: money is never a float. */
const DECIMAL = /^\d+(\.\d+)?$/;

export interface Order {
  readonly orderId: string;
  readonly userId: string;
  readonly pair: string;
  readonly amount: string;
}

export class PlaceOrderCommand extends Command<Order> {
  static readonly messageType = 'exchange.PlaceOrder';
  constructor(
    readonly userId: string,
    readonly pair: string,
    readonly amount: string,
  ) {
    super();
    invalid(this, { amount: DECIMAL.test(amount) ? [] : ['must be a decimal string'] });
  }
}

export class GetOrderBookQuery extends Query<{ pair: string; orders: number }> {
  static readonly messageType = 'exchange.GetOrderBook';
  constructor(readonly pair: string) {
    super();
  }
}

export class OrderPlaced extends DomainEvent {
  static readonly messageType = 'exchange.OrderPlaced';
  constructor(
    readonly orderId: string,
    readonly pair: string,
  ) {
    super({ aggregateId: orderId, aggregateType: 'Order' });
  }
}
// #endregion messages

// #region handlers
/** Registers the exchange's handlers on any app; returns the read model it keeps. */
export function registerExchange(app: Cqrs): Map<string, number> {
  const book = new Map<string, number>();
  let next = 0;

  app.commandBus.register(PlaceOrderCommand, async (command) => {
    const order: Order = {
      orderId: `order-${++next}`,
      userId: command.userId,
      pair: command.pair,
      amount: command.amount,
    };
    // In a transaction this waits for the commit; outside one it runs the subscribers now.
    await app.eventBus.publish(new OrderPlaced(order.orderId, order.pair));
    return order;
  });

  app.queryBus.register(GetOrderBookQuery, (query) => ({
    pair: query.pair,
    orders: book.get(query.pair) ?? 0,
  }));

  // Priority 10 runs before the subscribers without one: the read model is current for them.
  app.eventBus.subscribe(
    OrderPlaced,
    async (event) => {
      book.set(event.pair, (book.get(event.pair) ?? 0) + 1);
      await app.queryBus.invalidateType(GetOrderBookQuery);
    },
    { priority: 10 },
  );
  return book;
}
// #endregion handlers

/** Resolves with the next event of `eventClass` the app publishes (for examples that wait on a worker). */
export function nextEvent<E extends DomainEvent>(app: Cqrs, eventClass: MessageClass<E>): Promise<E> {
  return new Promise((resolve) => {
    const unsubscribe = app.eventBus.subscribe(eventClass, (event) => {
      unsubscribe();
      resolve(event);
    });
  });
}

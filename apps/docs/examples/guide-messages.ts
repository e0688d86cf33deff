// The message classes and handlers of "From the guide" (guide.ts uses them; guide.test.ts tests them).
// #region define-command
import { Command, invalid } from '@finaegis/core';

export interface Order {
  readonly id: string;
  readonly userId: string;
  readonly pair: string;
  readonly side: 'buy' | 'sell';
  readonly amount: string;
  readonly price?: string | undefined;
}

const DECIMAL = /^\d+(\.\d+)?$/;

export class PlaceOrderCommand extends Command<Order> {
  // The stable wire name: required on every message class.
  static readonly messageType = 'exchange.PlaceOrder';

  constructor(
    readonly userId: string,
    readonly type: 'market' | 'limit',
    readonly side: 'buy' | 'sell',
    readonly amount: string, // a decimal string: money is never a float
    readonly pair: string,
    readonly price?: string,
  ) {
    super();
    // "Validate in command constructor": throws CommandValidationError naming the fields.
    invalid(this, {
      amount: DECIMAL.test(amount) ? [] : ['must be a decimal string'],
      price: type === 'limit' && price === undefined ? ['a limit order needs a price'] : [],
    });
  }
}
// #endregion define-command

// #region create-handler
export interface PlaceOrderInput {
  readonly userId: string;
  readonly type: 'market' | 'limit';
  readonly side: 'buy' | 'sell';
  readonly amount: string;
  readonly pair: string;
  readonly price?: string | undefined;
}

export class OrderService {
  #next = 0;
  async placeOrder(input: PlaceOrderInput): Promise<Order> {
    return { id: `order-${++this.#next}`, ...input };
  }
}

export class PlaceOrderHandler {
  constructor(private readonly orderService: OrderService) {}

  // PHP's named arguments become one options object.
  handle(command: PlaceOrderCommand): Promise<Order> {
    return this.orderService.placeOrder({
      userId: command.userId,
      type: command.type,
      side: command.side,
      amount: command.amount,
      pair: command.pair,
      price: command.price,
    });
  }
}

// #endregion create-handler

// #region define-query
import { Query } from '@finaegis/core';

export interface OrderBook {
  readonly pair: string;
  readonly bids: ReadonlyArray<readonly [price: string, amount: string]>;
  readonly asks: ReadonlyArray<readonly [price: string, amount: string]>;
}

export class GetOrderBookQuery extends Query<OrderBook> {
  static readonly messageType = 'exchange.GetOrderBook';
  constructor(
    readonly pair: string,
    readonly depth = 20,
  ) {
    super();
  }
}

// #endregion define-query

// #region event-definition
import { DomainEvent, type EventInit } from '@finaegis/core';

export class OrderPlaced extends DomainEvent {
  static readonly messageType = 'exchange.OrderPlaced';

  constructor(
    readonly orderId: string,
    readonly userId: string,
    readonly orderData: Readonly<Record<string, unknown>>,
    init: EventInit = {}, // occurredAt, correlationId, ... (occurredAt defaults to now)
  ) {
    super({ ...init, aggregateId: orderId, aggregateType: 'Order' });
  }
}
// #endregion event-definition

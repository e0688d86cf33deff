import { Command, DomainEvent, type EventInit, Query } from '@finaegis/core';

export class PlaceOrder extends Command<string> {
  static readonly messageType = 'exchange.PlaceOrder';
  constructor(
    readonly orderId: string,
    readonly pair = 'BTC/USD',
  ) {
    super();
  }
}

export class FailingCommand extends Command<void> {
  static readonly messageType = 'exchange.Failing';
  constructor(readonly reason: string) {
    super();
  }
}

export class OrderPlaced extends DomainEvent {
  static readonly messageType = 'exchange.OrderPlaced';
  constructor(
    readonly orderId: string,
    init: EventInit = {},
  ) {
    super({ aggregateId: orderId, aggregateType: 'Order', ...init });
  }
}

export class GetBook extends Query<string[]> {
  static readonly messageType = 'exchange.GetBook';
  constructor(readonly pair: string) {
    super();
  }
}

/** An error a handler throws: `name` set, as `error.type` reports it. */
export class InsufficientFunds extends Error {
  override readonly name = 'InsufficientFunds';
}

import { Command, DomainEvent, type EventInit, invalid, Query } from '@finaegis/core';

export interface Order {
  id: string;
  pair: string;
  amount: string;
}

export class PlaceOrderCommand extends Command<Order> {
  static readonly messageType = 'PlaceOrderCommand';
  constructor(
    readonly userId: string,
    readonly pair: string,
    readonly amount: string,
  ) {
    super();
  }
  override validate(): void {
    invalid(this, {
      pair: /^[A-Z]{2,5}\/[A-Z]{2,5}$/.test(this.pair) ? [] : ['must look like BTC/USD'],
      amount:
        /^\d+(\.\d+)?$/.test(this.amount) && Number(this.amount) > 0
          ? []
          : ['must be a positive decimal string'],
    });
  }
}

export class CancelOrderCommand extends Command<boolean> {
  static readonly messageType = 'CancelOrderCommand';
  constructor(readonly orderId: string) {
    super();
  }
}

export class GetOrderBookQuery extends Query<{ pair: string; bids: string[][]; asks: string[][] } | null> {
  static readonly messageType = 'GetOrderBookQuery';
  constructor(
    readonly pair: string,
    readonly depth = 20,
  ) {
    super();
  }
}

export class OrderPlaced extends DomainEvent {
  static readonly messageType = 'OrderPlaced';
  constructor(
    readonly orderId: string,
    readonly userId: string,
    init: EventInit = {},
  ) {
    super({ aggregateId: orderId, aggregateType: 'Order', ...init });
  }
}

export class BalanceUpdated extends DomainEvent {
  static readonly messageType = 'BalanceUpdated';
  constructor(
    readonly accountId: string,
    readonly amount: string,
  ) {
    super({ aggregateId: accountId, aggregateType: 'Account' });
  }
}

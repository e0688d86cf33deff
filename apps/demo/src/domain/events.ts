import { DomainEvent, type EventInit } from '@finaegis/core';
import type { OrderType, Side } from './order-rules';

// Events. Amounts are decimal strings, as on the wire and in the event store.

export class FundsDeposited extends DomainEvent {
  static readonly messageType = 'exchange.FundsDeposited';
  constructor(
    readonly depositId: string,
    readonly accountId: string,
    readonly asset: string,
    readonly amount: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

export class OrderPlaced extends DomainEvent {
  static readonly messageType = 'exchange.OrderPlaced';
  constructor(
    readonly orderId: string,
    readonly accountId: string,
    readonly pair: string,
    readonly side: Side,
    readonly orderType: OrderType,
    readonly amount: string,
    readonly price: string | null,
    /** Funds set aside for the order (quote asset for buys, base asset for sells). */
    readonly locked: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

export class OrderRejected extends DomainEvent {
  static readonly messageType = 'exchange.OrderRejected';
  constructor(
    readonly orderId: string,
    readonly accountId: string,
    readonly pair: string,
    readonly side: Side,
    readonly orderType: OrderType,
    readonly amount: string,
    readonly price: string | null,
    readonly field: string,
    readonly reason: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

/** A trade: the taker met a resting maker order at the maker's price. */
export class OrderMatched extends DomainEvent {
  static readonly messageType = 'exchange.OrderMatched';
  constructor(
    readonly tradeId: string,
    readonly pair: string,
    readonly price: string,
    readonly quantity: string,
    /** price × quantity in the quote asset (rounded down to 8 decimals). */
    readonly quoteAmount: string,
    readonly makerOrderId: string,
    readonly takerOrderId: string,
    readonly makerAccountId: string,
    readonly takerAccountId: string,
    readonly takerSide: Side,
    /** Fee taken from what the maker receives. */
    readonly makerFee: string,
    /** Fee taken from what the taker receives. */
    readonly takerFee: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

export class OrderAddedToBook extends DomainEvent {
  static readonly messageType = 'exchange.OrderAddedToBook';
  constructor(
    readonly orderId: string,
    readonly pair: string,
    readonly side: Side,
    readonly price: string,
    readonly remaining: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

export class OrderRemovedFromBook extends DomainEvent {
  static readonly messageType = 'exchange.OrderRemovedFromBook';
  constructor(
    readonly orderId: string,
    readonly pair: string,
    readonly reason: 'filled' | 'cancelled',
    init?: EventInit,
  ) {
    super(init);
  }
}

export class OrderCancelled extends DomainEvent {
  static readonly messageType = 'exchange.OrderCancelled';
  constructor(
    readonly orderId: string,
    readonly accountId: string,
    readonly reason: string,
    /** Funds given back to the account. */
    readonly released: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

/**
 * A request with an `Idempotency-Key` changed the exchange: the key, the request's hash and the
 * answer it got, stored in the same append as the change itself, so a retry (through any API
 * process) finds it and gets the same answer. `answer` is the JSON of the command's result.
 */
export class IdempotencyKeyRecorded extends DomainEvent {
  static readonly messageType = 'exchange.IdempotencyKeyRecorded';
  constructor(
    readonly accountId: string,
    readonly key: string,
    readonly requestHash: string,
    readonly orderId: string,
    readonly answer: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

export const EXCHANGE_EVENTS = [
  FundsDeposited,
  OrderPlaced,
  OrderRejected,
  OrderMatched,
  OrderAddedToBook,
  OrderRemovedFromBook,
  OrderCancelled,
  IdempotencyKeyRecorded,
] as const;

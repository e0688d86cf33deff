import { Command, DomainEvent, type EventInit, invalid, Query } from '@finaegis/core';
import { ASSETS, MARKETS, type MarketConfig } from '../config/domain';
import { decimalProblem, parseAmount } from '../decimal';
import type { Balances, OrderBookView, OrderView } from './views';

export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';

const SIDES: readonly string[] = ['buy', 'sell'];
const ORDER_TYPES: readonly string[] = ['market', 'limit'];

export function marketOf(pair: unknown): MarketConfig | undefined {
  return typeof pair === 'string' ? MARKETS.find((m) => m.pair === pair) : undefined;
}

/**
 * Places a limit or market order. `amount` is in the base asset (BTC of BTC/USD), `price` in the
 * quote asset per unit (limit orders only). The order id is chosen by the sender, so a command
 * delivered twice places one order.
 */
export class PlaceOrderCommand extends Command<OrderView> {
  static readonly messageType = 'exchange.PlaceOrder';

  constructor(
    readonly orderId: string,
    readonly accountId: string,
    readonly pair: string,
    readonly side: Side,
    readonly orderType: OrderType,
    readonly amount: string,
    readonly price: string | null = null,
  ) {
    super();
    this.validate();
  }

  // The checks live here, not only in the constructor: a command rebuilt from the wire is
  // validated through this method too.
  override validate(): void {
    const market = marketOf(this.pair);
    const amountProblem = decimalProblem(this.amount);
    const amountReasons: string[] = [];
    if (amountProblem !== undefined) amountReasons.push(amountProblem);
    else if (market !== undefined && parseAmount(this.amount) < parseAmount(market.minAmount))
      amountReasons.push(`must be at least ${market.minAmount} ${market.base}`);
    const priceReasons: string[] = [];
    if (this.orderType === 'limit') {
      if (this.price === null || this.price === undefined) priceReasons.push('is required for a limit order');
      else {
        const problem = decimalProblem(this.price);
        if (problem !== undefined) priceReasons.push(problem);
        else if (parseAmount(this.price) === 0n) priceReasons.push('must be greater than 0');
      }
    } else if (this.price !== null && this.price !== undefined) {
      priceReasons.push('must be empty for a market order');
    }
    invalid(this, {
      orderId:
        typeof this.orderId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(this.orderId) ? [] : ['is invalid'],
      accountId: typeof this.accountId === 'string' && this.accountId !== '' ? [] : ['is required'],
      pair: market === undefined ? [`must be one of ${MARKETS.map((m) => m.pair).join(', ')}`] : [],
      side: SIDES.includes(this.side) ? [] : ['must be buy or sell'],
      type: ORDER_TYPES.includes(this.orderType) ? [] : ['must be market or limit'],
      amount: amountReasons,
      price: priceReasons,
    });
  }
}

/** Cancels an open order of the account. Cancelling a final order is an error. */
export class CancelOrderCommand extends Command<OrderView> {
  static readonly messageType = 'exchange.CancelOrder';

  constructor(
    readonly orderId: string,
    readonly accountId: string,
  ) {
    super();
    this.validate();
  }

  override validate(): void {
    invalid(this, {
      orderId: typeof this.orderId === 'string' && this.orderId !== '' ? [] : ['is required'],
      accountId: typeof this.accountId === 'string' && this.accountId !== '' ? [] : ['is required'],
    });
  }
}

/** Credits an account (the demo's stand-in for a bank transfer). */
export class DepositCommand extends Command<Balances> {
  static readonly messageType = 'exchange.Deposit';

  constructor(
    readonly depositId: string,
    readonly accountId: string,
    readonly asset: string,
    readonly amount: string,
  ) {
    super();
    this.validate();
  }

  override validate(): void {
    const problem = decimalProblem(this.amount);
    invalid(this, {
      accountId: typeof this.accountId === 'string' && this.accountId !== '' ? [] : ['is required'],
      asset: (ASSETS as readonly string[]).includes(this.asset)
        ? []
        : [`must be one of ${ASSETS.join(', ')}`],
      amount:
        problem !== undefined ? [problem] : parseAmount(this.amount) === 0n ? ['must be greater than 0'] : [],
    });
  }
}

/** The order book of a pair: price levels up to `depth`, best bid/ask, spread, last price. */
export class GetOrderBookQuery extends Query<OrderBookView> {
  static readonly messageType = 'exchange.GetOrderBook';

  constructor(
    readonly pair: string,
    readonly depth: number = 20,
  ) {
    super();
  }

  override validate(): void {
    invalid(this, {
      pair:
        marketOf(this.pair) === undefined ? [`must be one of ${MARKETS.map((m) => m.pair).join(', ')}`] : [],
      depth: Number.isInteger(this.depth) && this.depth >= 1 && this.depth <= 100 ? [] : ['must be 1 to 100'],
    });
  }
}

export class GetOrderQuery extends Query<OrderView | null> {
  static readonly messageType = 'exchange.GetOrder';

  constructor(
    readonly orderId: string,
    readonly accountId: string,
  ) {
    super();
  }
}

export class GetBalancesQuery extends Query<Balances> {
  static readonly messageType = 'exchange.GetBalances';

  constructor(readonly accountId: string) {
    super();
  }
}

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

export const EXCHANGE_EVENTS = [
  FundsDeposited,
  OrderPlaced,
  OrderRejected,
  OrderMatched,
  OrderAddedToBook,
  OrderRemovedFromBook,
  OrderCancelled,
] as const;

export const EXCHANGE_MESSAGES = [
  PlaceOrderCommand,
  CancelOrderCommand,
  DepositCommand,
  GetOrderBookQuery,
  GetOrderQuery,
  GetBalancesQuery,
  ...EXCHANGE_EVENTS,
] as const;

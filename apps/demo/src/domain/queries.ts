import { invalid, Query } from '@finaegis/core';
import { marketOf, UNKNOWN_PAIR } from './order-rules';
import type { Balances, OrderBookView, OrderPage, OrderView } from './views';

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
      pair: marketOf(this.pair) === undefined ? [UNKNOWN_PAIR] : [],
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

/** Largest page of `ListOrdersQuery` (and `GET /orders?limit=`). */
export const MAX_ORDERS_PAGE = 100;

/** The cursor of a page that ends with the order at arrival position `position`. */
export function encodeOrderCursor(position: number): string {
  return Buffer.from(`orders-before:${position}`).toString('base64url');
}

/** The position a cursor stands for, or `undefined` when it is not one `encodeOrderCursor` made. */
export function decodeOrderCursor(cursor: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
  const match = /^orders-before:([1-9]\d{0,14})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return match === null ? undefined : Number(match[1]);
}

/**
 * The account's orders, newest first, `limit` at a time. `before` is the position of the last
 * order of the previous page (from its cursor); `null` starts with the newest.
 */
export class ListOrdersQuery extends Query<OrderPage> {
  static readonly messageType = 'exchange.ListOrders';

  constructor(
    readonly accountId: string,
    readonly limit: number = 20,
    readonly before: number | null = null,
  ) {
    super();
  }

  override validate(): void {
    invalid(this, {
      limit:
        Number.isInteger(this.limit) && this.limit >= 1 && this.limit <= MAX_ORDERS_PAGE
          ? []
          : [`must be an integer from 1 to ${MAX_ORDERS_PAGE}`],
      cursor:
        this.before === null || (Number.isSafeInteger(this.before) && this.before > 0)
          ? []
          : ['is not a cursor this API gave out'],
    });
  }
}

export class GetBalancesQuery extends Query<Balances> {
  static readonly messageType = 'exchange.GetBalances';

  constructor(readonly accountId: string) {
    super();
  }
}

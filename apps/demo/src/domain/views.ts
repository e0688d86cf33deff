import type { OrderType, Side } from './order-rules';

export type OrderStatus = 'pending' | 'open' | 'partially_filled' | 'filled' | 'cancelled' | 'rejected';

/** Statuses an order never leaves. */
export const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['filled', 'cancelled', 'rejected']);

/** An order as the API returns it. Amounts are decimal strings. */
export interface OrderView {
  readonly orderId: string;
  readonly accountId: string;
  readonly pair: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly amount: string;
  readonly price: string | null;
  readonly filled: string;
  readonly remaining: string;
  readonly status: OrderStatus;
  /** Why the order was rejected or cancelled. */
  readonly reason?: string;
  /** For rejected orders: the request field at fault. */
  readonly field?: string;
}

/** A page of an account's orders, newest first. */
export interface OrderPage {
  readonly orders: OrderView[];
  /** Pass as `cursor` for the next (older) page; `null` on the last page. */
  readonly nextCursor: string | null;
}

export interface PriceLevel {
  readonly price: string;
  /** Sum of the remaining amounts at this price. */
  readonly amount: string;
  readonly orders: number;
}

export interface TradeView {
  readonly tradeId: string;
  readonly price: string;
  readonly quantity: string;
  readonly takerSide: Side;
  readonly at: string;
}

/** The order book read model of a pair. */
export interface OrderBookView {
  readonly pair: string;
  /** Best (highest) first. */
  readonly bids: PriceLevel[];
  /** Best (lowest) first. */
  readonly asks: PriceLevel[];
  readonly bestBid: string | null;
  readonly bestAsk: string | null;
  readonly spread: string | null;
  readonly lastPrice: string | null;
  /** Newest first. */
  readonly recentTrades: TradeView[];
}

export interface Balances {
  readonly accountId: string;
  readonly balances: Record<string, { readonly available: string; readonly locked: string }>;
}

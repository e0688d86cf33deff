import { type Amount, formatAmount } from '../decimal';
import type { Side } from './order-rules';
import type { OrderState } from './orders';
import type { OrderBookView, PriceLevel, TradeView } from './views';

/** Trades of a pair kept for the book's `recentTrades`. */
const RECENT_TRADES = 50;
/** Trades a book view shows. */
const SHOWN_TRADES = 20;

/**
 * The resting limit orders of one pair, each side in price-time priority (best price first, then
 * oldest first), and the pair's last price and recent trades.
 */
export class OrderBook {
  /** Highest price first, then oldest first. */
  readonly #bids: OrderState[] = [];
  /** Lowest price first, then oldest first. */
  readonly #asks: OrderState[] = [];
  readonly #trades: TradeView[] = [];
  #lastPrice: Amount | undefined;

  constructor(readonly pair: string) {}

  /**
   * The side a taker of `side` matches against, best first: the asks for a buy, the bids for a sell.
   * The live list, not a copy: it changes as orders are added and removed.
   */
  opposite(side: Side): readonly OrderState[] {
    return side === 'buy' ? this.#asks : this.#bids;
  }

  /** Rests a limit order behind the orders at a better or the same price. */
  add(order: OrderState): void {
    const side = this.#side(order);
    let low = 0;
    let high = side.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (before(side[middle]!, order)) low = middle + 1;
      else high = middle;
    }
    side.splice(low, 0, order);
  }

  /** Takes an order off the book; one that is not on it changes nothing. */
  remove(order: OrderState): void {
    const side = this.#side(order);
    const index = side.indexOf(order);
    if (index >= 0) side.splice(index, 1);
  }

  recordTrade(trade: TradeView, price: Amount): void {
    this.#lastPrice = price;
    this.#trades.push(trade);
    if (this.#trades.length > RECENT_TRADES) this.#trades.splice(0, this.#trades.length - RECENT_TRADES);
  }

  /** Price levels up to `depth` a side, best bid and ask, spread, last price, newest trades first. */
  view(depth: number): OrderBookView {
    const bestBid = this.#bids[0]?.price ?? null;
    const bestAsk = this.#asks[0]?.price ?? null;
    const last = this.#lastPrice;
    return {
      pair: this.pair,
      bids: levels(this.#bids, depth),
      asks: levels(this.#asks, depth),
      bestBid: bestBid === null ? null : formatAmount(bestBid),
      bestAsk: bestAsk === null ? null : formatAmount(bestAsk),
      spread: bestBid === null || bestAsk === null ? null : formatAmount(bestAsk - bestBid),
      lastPrice: last === undefined ? null : formatAmount(last),
      recentTrades: [...this.#trades].reverse().slice(0, SHOWN_TRADES),
    };
  }

  #side(order: OrderState): OrderState[] {
    return order.side === 'buy' ? this.#bids : this.#asks;
  }
}

/** Whether `a` goes before `b` on its side of the book (better price, then earlier). */
function before(a: OrderState, b: OrderState): boolean {
  if (a.price !== b.price) return a.side === 'buy' ? a.price! > b.price! : a.price! < b.price!;
  return a.sequence < b.sequence;
}

/** The first `depth` prices of a side, each with its remaining amount and number of orders. */
function levels(side: readonly OrderState[], depth: number): PriceLevel[] {
  const result: { price: Amount; amount: Amount; orders: number }[] = [];
  for (const order of side) {
    const last = result[result.length - 1];
    if (last !== undefined && last.price === order.price) {
      last.amount += order.amount - order.filled;
      last.orders += 1;
    } else {
      if (result.length === depth) break;
      result.push({ price: order.price!, amount: order.amount - order.filled, orders: 1 });
    }
  }
  return result.map((l) => ({
    price: formatAmount(l.price),
    amount: formatAmount(l.amount),
    orders: l.orders,
  }));
}

import { AggregateRoot, type EventInit } from '@finaegis/core';
import { FEES, MARKETS } from '../config/domain';
import { type Amount, divDown, formatAmount, minAmount, mulDown, mulUp, parseAmount } from '../decimal';
import { OrderNotCancellableError } from './errors/order-not-cancellable-error';
import { OrderNotFoundError } from './errors/order-not-found-error';
import {
  type CancelOrderCommand,
  type DepositCommand,
  FundsDeposited,
  marketOf,
  OrderAddedToBook,
  OrderCancelled,
  OrderMatched,
  OrderPlaced,
  OrderRejected,
  OrderRemovedFromBook,
  type OrderType,
  type PlaceOrderCommand,
  type Side,
} from './messages';
import {
  type Balances,
  FINAL_STATUSES,
  type OrderBookView,
  type OrderStatus,
  type OrderView,
  type PriceLevel,
  type TradeView,
} from './views';

interface OrderState {
  readonly orderId: string;
  readonly accountId: string;
  readonly pair: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly amount: Amount;
  readonly price: Amount | null;
  /** Arrival order: time priority within a price. */
  readonly sequence: number;
  filled: Amount;
  /** Funds still set aside for this order (quote asset for buys, base for sells). */
  locked: Amount;
  status: OrderStatus;
  reason?: string;
  field?: string;
}

interface Holding {
  available: Amount;
  locked: Amount;
}

interface Book {
  /** Highest price first, then oldest first. */
  readonly bids: OrderState[];
  /** Lowest price first, then oldest first. */
  readonly asks: OrderState[];
}

const MAKER_FEE = parseAmount(FEES.maker);
const TAKER_FEE = parseAmount(FEES.taker);
const RECENT_TRADES = 50;

/**
 * The exchange: accounts, orders, one order book per pair, and the matching engine. Every change
 * is an event applied by the appliers registered in the constructor, so the state rebuilt from the
 * event store is the state the live calls produced, in any process.
 *
 * Matching never works on copies: each trade is raised (and so applied) before the next maker is
 * looked at, so a maker's remaining amount is always current and a filled maker has already left
 * the book. (The original matched against state read before the loop and could fill one maker twice.)
 */
export class Exchange extends AggregateRoot {
  static override readonly aggregateType = 'exchange.Exchange';

  readonly #orders = new Map<string, OrderState>();
  readonly #books = new Map<string, Book>();
  readonly #accounts = new Map<string, Map<string, Holding>>();
  readonly #deposits = new Set<string>();
  readonly #fees = new Map<string, Amount>();
  readonly #trades = new Map<string, TradeView[]>();
  readonly #lastPrice = new Map<string, Amount>();
  #sequence = 0;

  constructor(id: string) {
    super(id);
    for (const market of MARKETS) this.#books.set(market.pair, { bids: [], asks: [] });
    this.on(FundsDeposited, (e) => {
      this.#deposits.add(e.depositId);
      this.#holding(e.accountId, e.asset).available += parseAmount(e.amount);
    });
    this.on(OrderPlaced, (e) => {
      const order = this.#newOrder(e, parseAmount(e.locked), 'pending');
      this.#orders.set(order.orderId, order);
      const holding = this.#holding(order.accountId, this.#lockAsset(order));
      holding.available -= order.locked;
      holding.locked += order.locked;
    });
    this.on(OrderRejected, (e) => {
      this.#orders.set(e.orderId, { ...this.#newOrder(e, 0n, 'rejected'), reason: e.reason, field: e.field });
    });
    this.on(OrderMatched, (e) => this.#applyTrade(e));
    this.on(OrderAddedToBook, (e) => {
      const order = this.#order(e.orderId);
      order.status = order.filled > 0n ? 'partially_filled' : 'open';
      const book = this.#book(order.pair);
      insertSorted(order.side === 'buy' ? book.bids : book.asks, order);
    });
    this.on(OrderRemovedFromBook, (e) => {
      const order = this.#order(e.orderId);
      const book = this.#book(order.pair);
      const side = order.side === 'buy' ? book.bids : book.asks;
      const index = side.indexOf(order);
      if (index >= 0) side.splice(index, 1);
    });
    this.on(OrderCancelled, (e) => {
      const order = this.#order(e.orderId);
      this.#release(order);
      order.status = 'cancelled';
      order.reason = e.reason;
    });
  }

  // ---- decisions (each raises events; the appliers above change the state) ----

  /** Credits an account; a deposit id seen before changes nothing. */
  deposit(command: DepositCommand, init: EventInit): Balances {
    if (!this.#deposits.has(command.depositId)) {
      this.raise(
        new FundsDeposited(command.depositId, command.accountId, command.asset, command.amount, init),
      );
    }
    return this.balances(command.accountId);
  }

  /**
   * Places an order: checks the account's funds, locks them, matches against the opposite side of
   * the book, then rests the remainder of a limit order on the book (a market order's remainder is
   * cancelled). An order id seen before returns that order and changes nothing.
   * Returns a `rejected` order (with `field` and `reason`) when the account cannot place it.
   */
  placeOrder(command: PlaceOrderCommand, init: EventInit): OrderView {
    const existing = this.#orders.get(command.orderId);
    if (existing !== undefined) return view(existing);
    const market = marketOf(command.pair);
    if (market === undefined) throw new RangeError(`unknown pair ${command.pair}`);
    const amount = parseAmount(command.amount);
    const price = command.price === null ? null : parseAmount(command.price);
    const reject = (field: string, reason: string): OrderView => {
      this.raise(
        new OrderRejected(
          command.orderId,
          command.accountId,
          command.pair,
          command.side,
          command.orderType,
          command.amount,
          command.price,
          field,
          reason,
          init,
        ),
      );
      return view(this.#order(command.orderId));
    };
    if (!this.#accounts.has(command.accountId)) return reject('accountId', 'unknown account');
    const book = this.#book(command.pair);
    const opposite = command.side === 'buy' ? book.asks : book.bids;
    if (command.orderType === 'market' && opposite.length === 0) {
      return reject('type', `no ${command.side === 'buy' ? 'sell' : 'buy'} orders to match a market order`);
    }
    let locked: Amount;
    if (command.side === 'buy') {
      const available = this.#holding(command.accountId, market.quote).available;
      // A market buy's cost is not known in advance: it may use all the quote funds, and what it
      // does not spend goes back when it ends.
      locked = price === null ? available : mulUp(amount, price);
      if (locked === 0n || locked > available) {
        return reject(
          'amount',
          `insufficient ${market.quote} balance: available ${formatAmount(available)}` +
            (price === null ? '' : `, needed ${formatAmount(locked)}`),
        );
      }
    } else {
      const available = this.#holding(command.accountId, market.base).available;
      locked = amount;
      if (locked > available) {
        return reject(
          'amount',
          `insufficient ${market.base} balance: available ${formatAmount(available)}, needed ${formatAmount(locked)}`,
        );
      }
    }
    this.raise(
      new OrderPlaced(
        command.orderId,
        command.accountId,
        command.pair,
        command.side,
        command.orderType,
        command.amount,
        command.price,
        formatAmount(locked),
        init,
      ),
    );
    const taker = this.#order(command.orderId);
    this.#match(taker, opposite, init);
    const remaining = taker.amount - taker.filled;
    if (remaining > 0n) {
      if (taker.type === 'limit') {
        this.raise(
          new OrderAddedToBook(
            taker.orderId,
            taker.pair,
            taker.side,
            formatAmount(taker.price!),
            formatAmount(remaining),
            init,
          ),
        );
      } else {
        this.raise(
          new OrderCancelled(
            taker.orderId,
            taker.accountId,
            'market order: no more liquidity (or funds) for the rest',
            formatAmount(taker.locked),
            init,
          ),
        );
      }
    }
    return view(taker);
  }

  #match(taker: OrderState, opposite: OrderState[], init: EventInit): void {
    let trade = 0;
    for (;;) {
      const remaining = taker.amount - taker.filled;
      const maker = opposite[0];
      if (remaining === 0n || maker === undefined) return;
      const makerPrice = maker.price!;
      if (
        taker.price !== null &&
        (taker.side === 'buy' ? makerPrice > taker.price : makerPrice < taker.price)
      )
        return;
      let quantity = minAmount(remaining, maker.amount - maker.filled);
      if (taker.type === 'market' && taker.side === 'buy') {
        quantity = minAmount(quantity, divDown(taker.locked, makerPrice));
        if (quantity === 0n) return;
      }
      const quoteAmount = mulDown(quantity, makerPrice);
      // Fees come out of what each side receives: base for the buyer, quote for the seller.
      const takerFee = mulDown(taker.side === 'buy' ? quantity : quoteAmount, TAKER_FEE);
      const makerFee = mulDown(taker.side === 'buy' ? quoteAmount : quantity, MAKER_FEE);
      trade += 1;
      this.raise(
        new OrderMatched(
          `${taker.orderId}-${trade}`,
          taker.pair,
          formatAmount(makerPrice),
          formatAmount(quantity),
          formatAmount(quoteAmount),
          maker.orderId,
          taker.orderId,
          maker.accountId,
          taker.accountId,
          taker.side,
          formatAmount(makerFee),
          formatAmount(takerFee),
          init,
        ),
      );
      if (maker.filled === maker.amount) {
        this.raise(new OrderRemovedFromBook(maker.orderId, maker.pair, 'filled', init));
      } else {
        // The maker still has some left, so the taker is done, or (a market buy) out of funds.
        return;
      }
    }
  }

  /**
   * Cancels an open order of the account: takes it off the book and gives back its locked funds.
   * @throws OrderNotFoundError when the account has no such order.
   * @throws OrderNotCancellableError when the order is filled, cancelled or rejected.
   */
  cancelOrder(command: CancelOrderCommand, init: EventInit): OrderView {
    const order = this.#orders.get(command.orderId);
    if (order === undefined || order.accountId !== command.accountId)
      throw new OrderNotFoundError(command.orderId);
    if (FINAL_STATUSES.has(order.status)) throw new OrderNotCancellableError(order.orderId, order.status);
    this.raise(new OrderRemovedFromBook(order.orderId, order.pair, 'cancelled', init));
    this.raise(
      new OrderCancelled(
        order.orderId,
        order.accountId,
        'cancelled by the owner',
        formatAmount(order.locked),
        init,
      ),
    );
    return view(order);
  }

  // ---- reads ----

  order(orderId: string): OrderView | undefined {
    const order = this.#orders.get(orderId);
    return order === undefined ? undefined : view(order);
  }

  hasAccount(accountId: string): boolean {
    return this.#accounts.has(accountId);
  }

  balances(accountId: string): Balances {
    const holdings = this.#accounts.get(accountId) ?? new Map<string, Holding>();
    const balances: Record<string, { available: string; locked: string }> = {};
    for (const [asset, holding] of [...holdings].sort(([a], [b]) => a.localeCompare(b))) {
      balances[asset] = { available: formatAmount(holding.available), locked: formatAmount(holding.locked) };
    }
    return { accountId, balances };
  }

  /** Fees collected, per asset. */
  fees(): Record<string, string> {
    return Object.fromEntries([...this.#fees].map(([asset, amount]) => [asset, formatAmount(amount)]));
  }

  /** Every account's holdings as amounts (for checks that the books balance). */
  totals(): Record<string, Amount> {
    const totals: Record<string, Amount> = {};
    for (const holdings of this.#accounts.values()) {
      for (const [asset, holding] of holdings)
        totals[asset] = (totals[asset] ?? 0n) + holding.available + holding.locked;
    }
    for (const [asset, fee] of this.#fees) totals[asset] = (totals[asset] ?? 0n) + fee;
    return totals;
  }

  orderBook(pair: string, depth: number): OrderBookView {
    const book = this.#book(pair);
    const bids = levels(book.bids, depth);
    const asks = levels(book.asks, depth);
    const bestBid = book.bids[0]?.price ?? null;
    const bestAsk = book.asks[0]?.price ?? null;
    const last = this.#lastPrice.get(pair);
    return {
      pair,
      bids,
      asks,
      bestBid: bestBid === null ? null : formatAmount(bestBid),
      bestAsk: bestAsk === null ? null : formatAmount(bestAsk),
      spread: bestBid === null || bestAsk === null ? null : formatAmount(bestAsk - bestBid),
      lastPrice: last === undefined ? null : formatAmount(last),
      recentTrades: [...(this.#trades.get(pair) ?? [])].reverse().slice(0, 20),
    };
  }

  // ---- state helpers ----

  #applyTrade(e: OrderMatched): void {
    const market = marketOf(e.pair)!;
    const maker = this.#order(e.makerOrderId);
    const taker = this.#order(e.takerOrderId);
    const quantity = parseAmount(e.quantity);
    const quoteAmount = parseAmount(e.quoteAmount);
    const makerFee = parseAmount(e.makerFee);
    const takerFee = parseAmount(e.takerFee);
    const [buyer, seller] = e.takerSide === 'buy' ? [taker, maker] : [maker, taker];
    const [buyerFee, sellerFee] = e.takerSide === 'buy' ? [takerFee, makerFee] : [makerFee, takerFee];

    const buyerQuote = this.#holding(buyer.accountId, market.quote);
    buyerQuote.locked -= quoteAmount;
    buyer.locked -= quoteAmount;
    this.#holding(buyer.accountId, market.base).available += quantity - buyerFee;

    const sellerBase = this.#holding(seller.accountId, market.base);
    sellerBase.locked -= quantity;
    seller.locked -= quantity;
    this.#holding(seller.accountId, market.quote).available += quoteAmount - sellerFee;

    this.#fees.set(market.base, (this.#fees.get(market.base) ?? 0n) + buyerFee);
    this.#fees.set(market.quote, (this.#fees.get(market.quote) ?? 0n) + sellerFee);

    for (const order of [maker, taker]) {
      order.filled += quantity;
      if (order.filled === order.amount) {
        order.status = 'filled';
        // A buy locked at its limit price and paid the makers' (lower or equal) prices: the rest
        // of its lock goes back now.
        this.#release(order);
      } else {
        order.status = 'partially_filled';
      }
    }
    const price = parseAmount(e.price);
    this.#lastPrice.set(e.pair, price);
    const trades = this.#trades.get(e.pair) ?? [];
    trades.push({
      tradeId: e.tradeId,
      price: e.price,
      quantity: e.quantity,
      takerSide: e.takerSide,
      at: e.occurredAt.toISOString(),
    });
    if (trades.length > RECENT_TRADES) trades.splice(0, trades.length - RECENT_TRADES);
    this.#trades.set(e.pair, trades);
  }

  #release(order: OrderState): void {
    if (order.locked === 0n) return;
    const holding = this.#holding(order.accountId, this.#lockAsset(order));
    holding.locked -= order.locked;
    holding.available += order.locked;
    order.locked = 0n;
  }

  #lockAsset(order: Pick<OrderState, 'pair' | 'side'>): string {
    const market = marketOf(order.pair)!;
    return order.side === 'buy' ? market.quote : market.base;
  }

  /** A new order's state from the event that placed or rejected it (both carry the order's terms). */
  #newOrder(e: OrderPlaced | OrderRejected, locked: Amount, status: OrderStatus): OrderState {
    return {
      orderId: e.orderId,
      accountId: e.accountId,
      pair: e.pair,
      side: e.side,
      type: e.orderType,
      amount: parseAmount(e.amount),
      price: e.price === null ? null : parseAmount(e.price),
      sequence: ++this.#sequence,
      filled: 0n,
      locked,
      status,
    };
  }

  #holding(accountId: string, asset: string): Holding {
    let holdings = this.#accounts.get(accountId);
    if (holdings === undefined) {
      holdings = new Map();
      this.#accounts.set(accountId, holdings);
    }
    let holding = holdings.get(asset);
    if (holding === undefined) {
      holding = { available: 0n, locked: 0n };
      holdings.set(asset, holding);
    }
    return holding;
  }

  #order(orderId: string): OrderState {
    const order = this.#orders.get(orderId);
    if (order === undefined) throw new RangeError(`event refers to unknown order ${orderId}`);
    return order;
  }

  #book(pair: string): Book {
    const book = this.#books.get(pair);
    if (book === undefined) throw new RangeError(`unknown pair ${pair}`);
    return book;
  }
}

function view(order: OrderState): OrderView {
  return {
    orderId: order.orderId,
    accountId: order.accountId,
    pair: order.pair,
    side: order.side,
    type: order.type,
    amount: formatAmount(order.amount),
    price: order.price === null ? null : formatAmount(order.price),
    filled: formatAmount(order.filled),
    remaining: formatAmount(order.amount - order.filled),
    status: order.status,
    ...(order.reason === undefined ? {} : { reason: order.reason }),
    ...(order.field === undefined ? {} : { field: order.field }),
  };
}

/** Whether `a` goes before `b` on its side of the book (better price, then earlier). */
function before(a: OrderState, b: OrderState): boolean {
  if (a.price !== b.price) return a.side === 'buy' ? a.price! > b.price! : a.price! < b.price!;
  return a.sequence < b.sequence;
}

function insertSorted(side: OrderState[], order: OrderState): void {
  let low = 0;
  let high = side.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (before(side[middle]!, order)) low = middle + 1;
    else high = middle;
  }
  side.splice(low, 0, order);
}

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

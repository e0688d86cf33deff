import { AggregateRoot, type EventInit } from '@finaegis/core';
import { FEES, LIMITS, MARKETS } from '../config/domain';
import { type Amount, divDown, formatAmount, minAmount, mulDown, mulUp, parseAmount } from '../decimal';
import { IdempotencyKeyReusedError } from './errors/idempotency-key-reused-error';
import { LimitExceededError } from './errors/limit-exceeded-error';
import { OrderNotCancellableError } from './errors/order-not-cancellable-error';
import { OrderNotFoundError } from './errors/order-not-found-error';
import {
  type CancelOrderCommand,
  type DepositCommand,
  encodeOrderCursor,
  FundsDeposited,
  type IdempotencyClaim,
  IdempotencyKeyRecorded,
  marketOf,
  OrderAddedToBook,
  OrderCancelled,
  OrderMatched,
  OrderPlaced,
  OrderRejected,
  OrderRemovedFromBook,
  type OrderType,
  orderRuleProblems,
  type PlaceOrderCommand,
  type Side,
} from './messages';
import {
  type Balances,
  FINAL_STATUSES,
  type OrderBookView,
  type OrderPage,
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

/** What an Idempotency-Key of an account was first used for. */
interface IdempotencyRecord {
  readonly requestHash: string;
  readonly orderId: string;
  /** JSON of the result the first request got. */
  readonly answer: string;
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
const MAX_BALANCE = parseAmount(LIMITS.maxBalance);
const MAX_NOTIONAL = parseAmount(LIMITS.maxNotional);

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
  /** Each account's orders in arrival order (oldest first). */
  readonly #accountOrders = new Map<string, OrderState[]>();
  /** Idempotency-Keys used, by account id and key (see `idempotencyId`). */
  readonly #idempotency = new Map<string, IdempotencyRecord>();
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
      this.#addOrder(order);
      const holding = this.#holding(order.accountId, this.#lockAsset(order));
      holding.available -= order.locked;
      holding.locked += order.locked;
    });
    this.on(OrderRejected, (e) => {
      this.#addOrder({ ...this.#newOrder(e, 0n, 'rejected'), reason: e.reason, field: e.field });
    });
    this.on(IdempotencyKeyRecorded, (e) => {
      this.#idempotency.set(idempotencyId(e.accountId, e.key), {
        requestHash: e.requestHash,
        orderId: e.orderId,
        answer: e.answer,
      });
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

  /**
   * Credits an account; a deposit id seen before changes nothing.
   * @throws LimitExceededError when the account's holding of the asset would pass `LIMITS.maxBalance`.
   */
  deposit(command: DepositCommand, init: EventInit): Balances {
    if (!this.#deposits.has(command.depositId)) {
      const holding = this.#accounts.get(command.accountId)?.get(command.asset);
      const after = (holding?.available ?? 0n) + (holding?.locked ?? 0n) + parseAmount(command.amount);
      if (after > MAX_BALANCE) {
        throw new LimitExceededError(
          'maxBalance',
          'amount',
          `would bring the ${command.asset} balance to ${formatAmount(after)}, above the max balance of ${LIMITS.maxBalance} ${command.asset}`,
        );
      }
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
   * Returns a `rejected` order (with `field` and `reason`) when the account cannot place it or the
   * order breaks a rule (pair, minimum amount, limits).
   * With an idempotency claim, a key used before returns that first result and changes nothing.
   * @throws IdempotencyKeyReusedError when the key came with another request before.
   */
  placeOrder(command: PlaceOrderCommand, init: EventInit): OrderView {
    return this.#once(command.accountId, command.idempotency, init, () => this.#placeOrder(command, init));
  }

  #placeOrder(command: PlaceOrderCommand, init: EventInit): OrderView {
    const existing = this.#orders.get(command.orderId);
    if (existing !== undefined) return view(existing);
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
    // The API checked these already; a command from a queue may come from an older sender.
    for (const [field, reasons] of Object.entries(orderRuleProblems(command))) {
      if (reasons.length > 0) return reject(field, reasons.join('; '));
    }
    const market = marketOf(command.pair)!;
    if (!this.#accounts.has(command.accountId)) return reject('accountId', 'unknown account');
    const book = this.#book(command.pair);
    const opposite = command.side === 'buy' ? book.asks : book.bids;
    if (command.orderType === 'market' && opposite.length === 0) {
      return reject('type', `no ${command.side === 'buy' ? 'sell' : 'buy'} orders to match a market order`);
    }
    let locked: Amount;
    if (command.side === 'buy') {
      const available = this.#holding(command.accountId, market.quote).available;
      // A market buy's cost is not known in advance: it may use all the quote funds (up to the max
      // notional of one order), and what it does not spend goes back when it ends.
      locked = price === null ? minAmount(available, MAX_NOTIONAL) : mulUp(amount, price);
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
   * @throws IdempotencyKeyReusedError when the claim's key came with another request before.
   */
  cancelOrder(command: CancelOrderCommand, init: EventInit): OrderView {
    return this.#once(command.accountId, command.idempotency, init, () => this.#cancelOrder(command, init));
  }

  #cancelOrder(command: CancelOrderCommand, init: EventInit): OrderView {
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

  /**
   * Stores the answer of an asynchronous order request under its Idempotency-Key (the worker
   * places the order later). Returns the first answer when the key was used before, and whether
   * this call stored it.
   * @throws IdempotencyKeyReusedError when the key came with another request before.
   */
  acceptOrder<T extends { readonly orderId: string }>(
    accountId: string,
    claim: IdempotencyClaim,
    answer: T,
    init: EventInit,
  ): { answer: T; first: boolean } {
    let first = false;
    const result = this.#once(accountId, claim, init, () => {
      first = true;
      return answer;
    });
    return { answer: result, first };
  }

  /**
   * Runs a decision once per Idempotency-Key of an account: the first time it runs and its result
   * is stored with its events (so both are appended together or not at all); later it returns
   * the stored result. A decision that throws stores nothing, so a retry runs it again.
   */
  #once<T extends { readonly orderId: string }>(
    accountId: string,
    claim: IdempotencyClaim | null,
    init: EventInit,
    decide: () => T,
  ): T {
    if (claim === null || claim === undefined) return decide();
    const record = this.#idempotency.get(idempotencyId(accountId, claim.key));
    if (record !== undefined) {
      if (record.requestHash !== claim.requestHash) throw new IdempotencyKeyReusedError(claim.key);
      return JSON.parse(record.answer) as T;
    }
    const result = decide();
    this.raise(
      new IdempotencyKeyRecorded(
        accountId,
        claim.key,
        claim.requestHash,
        result.orderId,
        JSON.stringify(result),
        init,
      ),
    );
    return result;
  }

  // ---- reads ----

  /**
   * The account's orders, newest first: at most `limit`, starting below arrival position `before`
   * (from the previous page's cursor; `null` for the newest). Positions follow the event stream,
   * so every process pages the same way, and orders placed meanwhile never shift a later page.
   */
  listOrders(accountId: string, limit: number, before: number | null): OrderPage {
    const orders = this.#accountOrders.get(accountId) ?? [];
    // Orders are kept oldest first, so positions ascend: find the first one at or past `before`.
    let end = orders.length;
    if (before !== null) {
      let low = 0;
      while (low < end) {
        const middle = (low + end) >>> 1;
        if (orders[middle]!.sequence < before) low = middle + 1;
        else end = middle;
      }
    }
    const start = Math.max(0, end - limit);
    const page = orders.slice(start, end).reverse();
    const last = page[page.length - 1];
    return {
      orders: page.map(view),
      nextCursor: start > 0 && last !== undefined ? encodeOrderCursor(last.sequence) : null,
    };
  }

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

  #addOrder(order: OrderState): void {
    this.#orders.set(order.orderId, order);
    const list = this.#accountOrders.get(order.accountId);
    if (list === undefined) this.#accountOrders.set(order.accountId, [order]);
    else list.push(order);
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

function idempotencyId(accountId: string, key: string): string {
  return `${accountId}\u0000${key}`;
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

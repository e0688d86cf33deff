import { AggregateRoot, type EventInit } from '@finaegis/core';
import { MARKETS } from '../config/domain';
import { type Amount, formatAmount, parseAmount } from '../decimal';
import { Accounts, lockedAsset } from './accounts';
import type { CancelOrderCommand, DepositCommand, PlaceOrderCommand } from './commands';
import { IdempotencyKeyReusedError } from './errors/idempotency-key-reused-error';
import { OrderNotCancellableError } from './errors/order-not-cancellable-error';
import { OrderNotFoundError } from './errors/order-not-found-error';
import {
  FundsDeposited,
  IdempotencyKeyRecorded,
  OrderAddedToBook,
  OrderCancelled,
  OrderMatched,
  OrderPlaced,
  OrderRejected,
  OrderRemovedFromBook,
} from './events';
import { fills } from './matching';
import { OrderBook } from './order-book';
import { type IdempotencyClaim, marketOf, orderRuleProblems } from './order-rules';
import { fillOrder, type OrderState, Orders, orderView } from './orders';
import { type Balances, FINAL_STATUSES, type OrderBookView, type OrderPage, type OrderView } from './views';

/**
 * The exchange: accounts (`accounts.ts`), orders (`orders.ts`), one order book per pair
 * (`order-book.ts`) and matching (`matching.ts`), assembled as one event-sourced aggregate. Every
 * change is an event applied by the appliers registered in the constructor, so the state rebuilt
 * from the event store is the state the live calls produced, in any process.
 *
 * Matching never works on copies: each trade is raised (and so applied) before the next maker is
 * looked at, so a maker's remaining amount is always current and a filled maker has already left
 * the book.
 */
export class Exchange extends AggregateRoot {
  static override readonly aggregateType = 'exchange.Exchange';

  readonly #accounts = new Accounts();
  readonly #orders = new Orders();
  readonly #books = new Map<string, OrderBook>();

  constructor(id: string) {
    super(id);
    for (const market of MARKETS) this.#books.set(market.pair, new OrderBook(market.pair));
    this.on(FundsDeposited, (e) => {
      this.#accounts.deposit(e.depositId, e.accountId, e.asset, parseAmount(e.amount));
    });
    this.on(OrderPlaced, (e) => {
      const order = this.#orders.add(e, parseAmount(e.locked), 'pending');
      this.#accounts.lock(order.accountId, lockedAsset(marketOf(order.pair)!, order.side), order.locked);
    });
    this.on(OrderRejected, (e) => {
      const order = this.#orders.add(e, 0n, 'rejected');
      order.reason = e.reason;
      order.field = e.field;
    });
    this.on(IdempotencyKeyRecorded, (e) => {
      this.#orders.recordKey(e.accountId, e.key, {
        requestHash: e.requestHash,
        orderId: e.orderId,
        answer: e.answer,
      });
    });
    this.on(OrderMatched, (e) => this.#applyTrade(e));
    this.on(OrderAddedToBook, (e) => {
      const order = this.#orders.require(e.orderId);
      order.status = order.filled > 0n ? 'partially_filled' : 'open';
      this.#book(order.pair).add(order);
    });
    this.on(OrderRemovedFromBook, (e) => {
      const order = this.#orders.require(e.orderId);
      this.#book(order.pair).remove(order);
    });
    this.on(OrderCancelled, (e) => {
      const order = this.#orders.require(e.orderId);
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
    if (!this.#accounts.hasDeposit(command.depositId)) {
      this.#accounts.checkDeposit(command.accountId, command.asset, parseAmount(command.amount));
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
    if (existing !== undefined) return orderView(existing);
    const amount = parseAmount(command.amount);
    const price = command.price === null ? null : parseAmount(command.price);
    const terms = [
      command.orderId,
      command.accountId,
      command.pair,
      command.side,
      command.orderType,
      command.amount,
      command.price,
    ] as const;
    const reject = (field: string, reason: string): OrderView => {
      this.raise(new OrderRejected(...terms, field, reason, init));
      return orderView(this.#orders.require(command.orderId));
    };
    // The API checked these already; a command from a queue may come from an older sender.
    for (const [field, reasons] of Object.entries(orderRuleProblems(command))) {
      if (reasons.length > 0) return reject(field, reasons.join('; '));
    }
    const market = marketOf(command.pair)!;
    if (!this.#accounts.has(command.accountId)) return reject('accountId', 'unknown account');
    const opposite = this.#book(command.pair).opposite(command.side);
    if (command.orderType === 'market' && opposite.length === 0) {
      return reject('type', `no ${command.side === 'buy' ? 'sell' : 'buy'} orders to match a market order`);
    }
    const lock = this.#accounts.lockFor(command.accountId, market, command.side, amount, price);
    if ('problem' in lock) return reject('amount', lock.problem);
    this.raise(new OrderPlaced(...terms, formatAmount(lock.locked), init));
    const taker = this.#orders.require(command.orderId);
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
    return orderView(taker);
  }

  /** Raises a trade for each fill, and takes each maker it fills off the book before the next. */
  #match(taker: OrderState, opposite: readonly OrderState[], init: EventInit): void {
    let trade = 0;
    for (const fill of fills(taker, opposite)) {
      const maker = fill.maker;
      trade += 1;
      this.raise(
        new OrderMatched(
          `${taker.orderId}-${trade}`,
          taker.pair,
          formatAmount(fill.price),
          formatAmount(fill.quantity),
          formatAmount(fill.quoteAmount),
          maker.orderId,
          taker.orderId,
          maker.accountId,
          taker.accountId,
          taker.side,
          formatAmount(fill.makerFee),
          formatAmount(fill.takerFee),
          init,
        ),
      );
      if (maker.filled === maker.amount) {
        this.raise(new OrderRemovedFromBook(maker.orderId, maker.pair, 'filled', init));
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
    return orderView(order);
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
    const record = this.#orders.keyRecord(accountId, claim.key);
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
   * (from the previous page's cursor; `null` for the newest).
   */
  listOrders(accountId: string, limit: number, before: number | null): OrderPage {
    return this.#orders.list(accountId, limit, before);
  }

  order(orderId: string): OrderView | undefined {
    const order = this.#orders.get(orderId);
    return order === undefined ? undefined : orderView(order);
  }

  hasAccount(accountId: string): boolean {
    return this.#accounts.has(accountId);
  }

  balances(accountId: string): Balances {
    return this.#accounts.balances(accountId);
  }

  /** Fees collected, per asset. */
  fees(): Record<string, string> {
    return this.#accounts.fees();
  }

  /** Every account's holdings as amounts, and the fees (for checks that the books balance). */
  totals(): Record<string, Amount> {
    return this.#accounts.totals();
  }

  orderBook(pair: string, depth: number): OrderBookView {
    return this.#book(pair).view(depth);
  }

  // ---- state helpers ----

  #applyTrade(e: OrderMatched): void {
    const market = marketOf(e.pair)!;
    const maker = this.#orders.require(e.makerOrderId);
    const taker = this.#orders.require(e.takerOrderId);
    const quantity = parseAmount(e.quantity);
    const quoteAmount = parseAmount(e.quoteAmount);
    const makerFee = parseAmount(e.makerFee);
    const takerFee = parseAmount(e.takerFee);
    const [buyer, seller] = e.takerSide === 'buy' ? [taker, maker] : [maker, taker];
    const [buyerFee, sellerFee] = e.takerSide === 'buy' ? [takerFee, makerFee] : [makerFee, takerFee];
    this.#accounts.settle({
      market,
      buyerId: buyer.accountId,
      sellerId: seller.accountId,
      quantity,
      quoteAmount,
      buyerFee,
      sellerFee,
    });
    for (const order of [maker, taker]) {
      // A buy locked at its limit price and paid the makers' (lower or equal) prices: once it is
      // filled, the rest of its lock goes back.
      if (fillOrder(order, quantity, order === buyer ? quoteAmount : quantity)) this.#release(order);
    }
    this.#book(e.pair).recordTrade(
      {
        tradeId: e.tradeId,
        price: e.price,
        quantity: e.quantity,
        takerSide: e.takerSide,
        at: e.occurredAt.toISOString(),
      },
      parseAmount(e.price),
    );
  }

  /** Gives an order's remaining lock back to its account. */
  #release(order: OrderState): void {
    if (order.locked === 0n) return;
    this.#accounts.unlock(order.accountId, lockedAsset(marketOf(order.pair)!, order.side), order.locked);
    order.locked = 0n;
  }

  #book(pair: string): OrderBook {
    const book = this.#books.get(pair);
    if (book === undefined) throw new RangeError(`unknown pair ${pair}`);
    return book;
  }
}

import { Command, DomainEvent, type EventInit, type FieldErrors, invalid, Query } from '@finaegis/core';
import { ASSETS, LIMITS, MARKETS, type MarketConfig } from '../config/domain';
import { decimalProblem, mulUp, parseAmount } from '../decimal';
import type { Balances, OrderBookView, OrderPage, OrderView } from './views';

export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';

const SIDES: readonly string[] = ['buy', 'sell'];
const ORDER_TYPES: readonly string[] = ['market', 'limit'];

export function marketOf(pair: unknown): MarketConfig | undefined {
  return typeof pair === 'string' ? MARKETS.find((m) => m.pair === pair) : undefined;
}

/** A caller's `Idempotency-Key` and the fingerprint of the request that came with it. */
export interface IdempotencyClaim {
  readonly key: string;
  /** Hash of the request (method, path, body): the same key with another request is refused. */
  readonly requestHash: string;
}

/** Field errors of the shape of a place-order command: what every copy, from anywhere, must meet. */
function orderShapeProblems(command: PlaceOrderCommand): FieldErrors {
  const amountProblem = decimalProblem(command.amount);
  const priceReasons: string[] = [];
  if (command.orderType === 'limit') {
    if (command.price === null || command.price === undefined)
      priceReasons.push('is required for a limit order');
    else {
      const problem = decimalProblem(command.price);
      if (problem !== undefined) priceReasons.push(problem);
    }
  } else if (command.price !== null && command.price !== undefined) {
    priceReasons.push('must be empty for a market order');
  }
  return {
    orderId:
      typeof command.orderId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(command.orderId)
        ? []
        : ['is invalid'],
    accountId: typeof command.accountId === 'string' && command.accountId !== '' ? [] : ['is required'],
    pair:
      typeof command.pair === 'string' && command.pair.length <= 32 ? [] : ['must be a pair such as BTC/USD'],
    side: SIDES.includes(command.side) ? [] : ['must be buy or sell'],
    type: ORDER_TYPES.includes(command.orderType) ? [] : ['must be market or limit'],
    amount: amountProblem === undefined ? [] : [amountProblem],
    price: priceReasons,
    idempotency: claimProblem(command.idempotency),
  };
}

function claimProblem(claim: unknown): string[] {
  if (claim === null || claim === undefined) return [];
  const { key, requestHash } = claim as Partial<IdempotencyClaim>;
  return typeof key === 'string' && IDEMPOTENCY_KEY.test(key) && typeof requestHash === 'string'
    ? []
    : ['must be {key, requestHash}'];
}

/** What an Idempotency-Key header may be: 1 to 128 of A-Z a-z 0-9 and `- _ . : ~ + / =`. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:~+/=-]{1,128}$/;

/**
 * The exchange's rules for an order whose shape is valid: a known pair, the minimum amount, and
 * the limits. Broken rules are field errors (422) when the API builds the command, and a rejected
 * order when the exchange meets a command from a queue that breaks them.
 */
export function orderRuleProblems(
  command: Pick<PlaceOrderCommand, 'pair' | 'orderType' | 'amount' | 'price'>,
): FieldErrors {
  const market = marketOf(command.pair);
  if (market === undefined) return { pair: [`must be one of ${MARKETS.map((m) => m.pair).join(', ')}`] };
  const amountReasons: string[] = [];
  const priceReasons: string[] = [];
  const amount = decimalProblem(command.amount) === undefined ? parseAmount(command.amount) : undefined;
  if (amount !== undefined) {
    if (amount < parseAmount(market.minAmount))
      amountReasons.push(`must be at least ${market.minAmount} ${market.base}`);
    if (amount > parseAmount(LIMITS.maxAmount))
      amountReasons.push(`must be at most ${LIMITS.maxAmount} ${market.base} (max amount)`);
  }
  const price =
    command.orderType === 'limit' &&
    typeof command.price === 'string' &&
    decimalProblem(command.price) === undefined
      ? parseAmount(command.price)
      : undefined;
  if (price !== undefined) {
    if (price === 0n) priceReasons.push('must be greater than 0');
    if (price > parseAmount(LIMITS.maxPrice))
      priceReasons.push(`must be at most ${LIMITS.maxPrice} ${market.quote} (max price)`);
  }
  if (
    amount !== undefined &&
    price !== undefined &&
    amountReasons.length === 0 &&
    priceReasons.length === 0 &&
    mulUp(amount, price) > parseAmount(LIMITS.maxNotional)
  ) {
    amountReasons.push(`amount × price must be at most ${LIMITS.maxNotional} ${market.quote} (max notional)`);
  }
  return { amount: amountReasons, price: priceReasons };
}

function mergeProblems(first: FieldErrors, second: FieldErrors): FieldErrors {
  const merged: Record<string, string[]> = {};
  for (const fields of [first, second])
    for (const [field, reasons] of Object.entries(fields)) (merged[field] ??= []).push(...reasons);
  return merged;
}

/**
 * Places a limit or market order. `amount` is in the base asset (BTC of BTC/USD), `price` in the
 * quote asset per unit (limit orders only). The order id is chosen by the sender, so a command
 * delivered twice places one order. With an `idempotency` claim the exchange stores the result
 * under the key, and a second command with that key gets the stored result.
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
    readonly idempotency: IdempotencyClaim | null = null,
  ) {
    super();
    // Whoever builds a command here hears about every broken rule at once, before anything is
    // stored or queued (the API answers 422).
    const shape = orderShapeProblems(this);
    const shapeOk = (field: string) => (shape[field]?.length ?? 0) === 0;
    const rules = orderRuleProblems(this);
    invalid(
      this,
      mergeProblems(shape, {
        pair: shapeOk('pair') ? (rules.pair ?? []) : [],
        amount: shapeOk('amount') ? (rules.amount ?? []) : [],
        price: shapeOk('price') && shapeOk('amount') ? (rules.price ?? []) : [],
      }),
    );
  }

  // Only the shape is checked here, which is also how a command rebuilt from the wire is checked:
  // a well-formed order that breaks a rule (an unknown pair, a limit) reaches the exchange, which
  // rejects it where its owner can see it, instead of failing in a worker and being dead-lettered.
  override validate(): void {
    invalid(this, orderShapeProblems(this));
  }
}

/** Cancels an open order of the account. Cancelling a final order is an error. */
export class CancelOrderCommand extends Command<OrderView> {
  static readonly messageType = 'exchange.CancelOrder';

  constructor(
    readonly orderId: string,
    readonly accountId: string,
    readonly idempotency: IdempotencyClaim | null = null,
  ) {
    super();
    this.validate();
  }

  override validate(): void {
    invalid(this, {
      orderId: typeof this.orderId === 'string' && this.orderId !== '' ? [] : ['is required'],
      accountId: typeof this.accountId === 'string' && this.accountId !== '' ? [] : ['is required'],
      idempotency: claimProblem(this.idempotency),
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

export const EXCHANGE_MESSAGES = [
  PlaceOrderCommand,
  CancelOrderCommand,
  DepositCommand,
  GetOrderBookQuery,
  GetOrderQuery,
  ListOrdersQuery,
  GetBalancesQuery,
  ...EXCHANGE_EVENTS,
] as const;

import { type Amount, formatAmount, parseAmount } from '../decimal';
import type { OrderPlaced, OrderRejected } from './events';
import type { OrderType, Side } from './order-rules';
import { encodeOrderCursor } from './queries';
import type { OrderPage, OrderStatus, OrderView } from './views';

/** An order as the exchange keeps it: amounts as bigints, changed only by the exchange's appliers. */
export interface OrderState {
  readonly orderId: string;
  readonly accountId: string;
  readonly pair: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly amount: Amount;
  readonly price: Amount | null;
  /** Arrival order: time priority within a price, and the position `GET /orders` pages by. */
  readonly sequence: number;
  filled: Amount;
  /** Funds still set aside for this order (quote asset for buys, base for sells). */
  locked: Amount;
  status: OrderStatus;
  reason?: string;
  field?: string;
}

/** What an Idempotency-Key of an account was first used for. */
export interface IdempotencyRecord {
  readonly requestHash: string;
  readonly orderId: string;
  /** JSON of the result the first request got. */
  readonly answer: string;
}

/**
 * Every order the exchange has seen (placed or rejected), by id and per account in arrival order,
 * and the Idempotency-Keys accounts have used.
 */
export class Orders {
  readonly #byId = new Map<string, OrderState>();
  /** Each account's orders in arrival order (oldest first). */
  readonly #byAccount = new Map<string, OrderState[]>();
  /** By account id and key (see `idempotencyId`). */
  readonly #idempotency = new Map<string, IdempotencyRecord>();
  #sequence = 0;

  /**
   * Adds the order an `OrderPlaced` or `OrderRejected` event describes (both carry the order's
   * terms), at the next arrival position.
   */
  add(e: OrderPlaced | OrderRejected, locked: Amount, status: OrderStatus): OrderState {
    const order: OrderState = {
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
    this.#byId.set(order.orderId, order);
    const list = this.#byAccount.get(order.accountId);
    if (list === undefined) this.#byAccount.set(order.accountId, [order]);
    else list.push(order);
    return order;
  }

  get(orderId: string): OrderState | undefined {
    return this.#byId.get(orderId);
  }

  /** The order an event refers to, which an earlier event added. */
  require(orderId: string): OrderState {
    const order = this.#byId.get(orderId);
    if (order === undefined) throw new RangeError(`event refers to unknown order ${orderId}`);
    return order;
  }

  /**
   * The account's orders, newest first: at most `limit`, starting below arrival position `before`
   * (from the previous page's cursor; `null` for the newest). Positions follow the event stream,
   * so every process pages the same way, and orders placed meanwhile never shift a later page.
   */
  list(accountId: string, limit: number, before: number | null): OrderPage {
    const orders = this.#byAccount.get(accountId) ?? [];
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
      orders: page.map(orderView),
      nextCursor: start > 0 && last !== undefined ? encodeOrderCursor(last.sequence) : null,
    };
  }

  /** What the account's Idempotency-Key was first used for, if it was. */
  keyRecord(accountId: string, key: string): IdempotencyRecord | undefined {
    return this.#idempotency.get(idempotencyId(accountId, key));
  }

  recordKey(accountId: string, key: string, record: IdempotencyRecord): void {
    this.#idempotency.set(idempotencyId(accountId, key), record);
  }
}

/**
 * Adds a fill of `quantity` (base asset) to the order, paid out of its lock with `spent` (the quote
 * amount for a buy, the quantity for a sell). Returns whether the order is now filled.
 */
export function fillOrder(order: OrderState, quantity: Amount, spent: Amount): boolean {
  order.locked -= spent;
  order.filled += quantity;
  order.status = order.filled === order.amount ? 'filled' : 'partially_filled';
  return order.status === 'filled';
}

export function orderView(order: OrderState): OrderView {
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

function idempotencyId(accountId: string, key: string): string {
  return `${accountId}\u0000${key}`;
}

import { Command, invalid } from '@finaegis/core';
import { ASSETS } from '../config/domain';
import { decimalProblem, parseAmount } from '../decimal';
import {
  claimProblem,
  type IdempotencyClaim,
  mergeProblems,
  type OrderType,
  orderRuleProblems,
  orderShapeProblems,
  type Side,
} from './order-rules';
import type { Balances, OrderView } from './views';

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

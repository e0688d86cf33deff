import type { FieldErrors } from '@finaegis/core';
import { LIMITS, MARKETS, type MarketConfig } from '../config/domain';
import { decimalProblem, mulUp, parseAmount } from '../decimal';
import type { PlaceOrderCommand } from './commands';

export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';

const SIDES: readonly string[] = ['buy', 'sell'];
const ORDER_TYPES: readonly string[] = ['market', 'limit'];

export function marketOf(pair: unknown): MarketConfig | undefined {
  return typeof pair === 'string' ? MARKETS.find((m) => m.pair === pair) : undefined;
}

/** The field error of a pair `marketOf` does not know. */
export const UNKNOWN_PAIR = `must be one of ${MARKETS.map((m) => m.pair).join(', ')}`;

/** A caller's `Idempotency-Key` and the fingerprint of the request that came with it. */
export interface IdempotencyClaim {
  readonly key: string;
  /** Hash of the request (method, path, body): the same key with another request is refused. */
  readonly requestHash: string;
}

/** Field errors of the shape of a place-order command: what every copy, from anywhere, must meet. */
export function orderShapeProblems(command: PlaceOrderCommand): FieldErrors {
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

export function claimProblem(claim: unknown): string[] {
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
  if (market === undefined) return { pair: [UNKNOWN_PAIR] };
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

/** Both sets of field errors, reasons of a field in both kept in order. */
export function mergeProblems(first: FieldErrors, second: FieldErrors): FieldErrors {
  const merged: Record<string, string[]> = {};
  for (const fields of [first, second])
    for (const [field, reasons] of Object.entries(fields)) (merged[field] ??= []).push(...reasons);
  return merged;
}

import { FEES } from '../config/domain';
import { type Amount, divDown, minAmount, mulDown, parseAmount } from '../decimal';
import type { OrderState } from './orders';

const MAKER_FEE = parseAmount(FEES.maker);
const TAKER_FEE = parseAmount(FEES.taker);

/** One trade of a taker with the best resting order (the maker), at the maker's price. */
export interface Fill {
  readonly maker: OrderState;
  readonly price: Amount;
  /** In the base asset: the smaller of what the taker and the maker have left. */
  readonly quantity: Amount;
  /** price × quantity in the quote asset, rounded down. */
  readonly quoteAmount: Amount;
  /** Taken from what the maker receives. */
  readonly makerFee: Amount;
  /** Taken from what the taker receives. */
  readonly takerFee: Amount;
}

/**
 * The fills of a taker against the opposite side of the book (best first), by price-time priority:
 * at the maker's price, while the taker's limit allows it (a market order takes any price), for
 * the smaller remaining amount; a market buy also stops when its locked funds cannot pay for more.
 *
 * The caller must apply each fill (the orders' filled amounts and locks, and a filled maker taken
 * off the book) before it asks for the next: every fill is worked out from the current state,
 * never from a copy, so a maker is never filled twice. (The original matched against state read
 * before the loop and could fill one maker twice.)
 */
export function* fills(taker: OrderState, opposite: readonly OrderState[]): Generator<Fill, void, void> {
  for (;;) {
    const remaining = taker.amount - taker.filled;
    const maker = opposite[0];
    if (remaining === 0n || maker === undefined) return;
    const price = maker.price!;
    if (taker.price !== null && (taker.side === 'buy' ? price > taker.price : price < taker.price)) return;
    let quantity = minAmount(remaining, maker.amount - maker.filled);
    if (taker.type === 'market' && taker.side === 'buy') {
      quantity = minAmount(quantity, divDown(taker.locked, price));
      if (quantity === 0n) return;
    }
    const quoteAmount = mulDown(quantity, price);
    // Fees come out of what each side receives: base for the buyer, quote for the seller.
    const takerFee = mulDown(taker.side === 'buy' ? quantity : quoteAmount, TAKER_FEE);
    const makerFee = mulDown(taker.side === 'buy' ? quoteAmount : quantity, MAKER_FEE);
    yield { maker, price, quantity, quoteAmount, makerFee, takerFee };
    // The maker still has some left, so the taker is done, or (a market buy) out of funds.
    if (maker.filled !== maker.amount) return;
  }
}

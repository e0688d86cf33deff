import { LIMITS, type MarketConfig } from '../config/domain';
import { type Amount, formatAmount, minAmount, mulUp, parseAmount } from '../decimal';
import { LimitExceededError } from './errors/limit-exceeded-error';
import type { Side } from './order-rules';
import type { Balances } from './views';

const MAX_BALANCE = parseAmount(LIMITS.maxBalance);
const MAX_NOTIONAL = parseAmount(LIMITS.maxNotional);

interface Holding {
  available: Amount;
  locked: Amount;
}

/** What a trade moves between two accounts (who may be one), and the fees it leaves behind. */
export interface Settlement {
  readonly market: MarketConfig;
  readonly buyerId: string;
  readonly sellerId: string;
  /** Base asset: leaves the seller's lock, reaches the buyer less `buyerFee`. */
  readonly quantity: Amount;
  /** Quote asset: leaves the buyer's lock, reaches the seller less `sellerFee`. */
  readonly quoteAmount: Amount;
  readonly buyerFee: Amount;
  readonly sellerFee: Amount;
}

/** The asset an order locks: the quote asset for a buy, the base asset for a sell. */
export function lockedAsset(market: MarketConfig, side: Side): string {
  return side === 'buy' ? market.quote : market.base;
}

/**
 * The accounts' holdings per asset (available and locked), the deposits made, and the fees the
 * exchange collected.
 */
export class Accounts {
  readonly #holdings = new Map<string, Map<string, Holding>>();
  readonly #deposits = new Set<string>();
  readonly #fees = new Map<string, Amount>();

  has(accountId: string): boolean {
    return this.#holdings.has(accountId);
  }

  hasDeposit(depositId: string): boolean {
    return this.#deposits.has(depositId);
  }

  /**
   * @throws LimitExceededError when depositing `amount` would bring the account's holding of the
   * asset (available and locked) past `LIMITS.maxBalance`.
   */
  checkDeposit(accountId: string, asset: string, amount: Amount): void {
    const holding = this.#holdings.get(accountId)?.get(asset);
    const after = (holding?.available ?? 0n) + (holding?.locked ?? 0n) + amount;
    if (after > MAX_BALANCE) {
      throw new LimitExceededError(
        'maxBalance',
        'amount',
        `would bring the ${asset} balance to ${formatAmount(after)}, above the max balance of ${LIMITS.maxBalance} ${asset}`,
      );
    }
  }

  deposit(depositId: string, accountId: string, asset: string, amount: Amount): void {
    this.#deposits.add(depositId);
    this.#holding(accountId, asset).available += amount;
  }

  /**
   * What placing an order would lock, or why the account cannot pay for it. A buy locks its cost
   * at the limit price (rounded up); a market buy's cost is not known in advance, so it locks the
   * available quote funds up to the max notional of one order, and what it does not spend goes
   * back when it ends. A sell locks its amount of the base asset.
   */
  lockFor(
    accountId: string,
    market: MarketConfig,
    side: Side,
    amount: Amount,
    price: Amount | null,
  ): { locked: Amount } | { problem: string } {
    const asset = lockedAsset(market, side);
    // Read without creating: a decision must not add state that no event carries.
    const available = this.#holdings.get(accountId)?.get(asset)?.available ?? 0n;
    if (side === 'buy') {
      const locked = price === null ? minAmount(available, MAX_NOTIONAL) : mulUp(amount, price);
      if (locked === 0n || locked > available) {
        return {
          problem:
            `insufficient ${asset} balance: available ${formatAmount(available)}` +
            (price === null ? '' : `, needed ${formatAmount(locked)}`),
        };
      }
      return { locked };
    }
    if (amount > available) {
      return {
        problem: `insufficient ${asset} balance: available ${formatAmount(available)}, needed ${formatAmount(amount)}`,
      };
    }
    return { locked: amount };
  }

  lock(accountId: string, asset: string, amount: Amount): void {
    const holding = this.#holding(accountId, asset);
    holding.available -= amount;
    holding.locked += amount;
  }

  unlock(accountId: string, asset: string, amount: Amount): void {
    const holding = this.#holding(accountId, asset);
    holding.locked -= amount;
    holding.available += amount;
  }

  /** Pays a trade out of the two locks, and keeps the fees. */
  settle(trade: Settlement): void {
    const { market, quantity, quoteAmount, buyerFee, sellerFee } = trade;
    this.#holding(trade.buyerId, market.quote).locked -= quoteAmount;
    this.#holding(trade.buyerId, market.base).available += quantity - buyerFee;
    this.#holding(trade.sellerId, market.base).locked -= quantity;
    this.#holding(trade.sellerId, market.quote).available += quoteAmount - sellerFee;
    this.#fees.set(market.base, (this.#fees.get(market.base) ?? 0n) + buyerFee);
    this.#fees.set(market.quote, (this.#fees.get(market.quote) ?? 0n) + sellerFee);
  }

  balances(accountId: string): Balances {
    const holdings = this.#holdings.get(accountId) ?? new Map<string, Holding>();
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

  /** Every account's holdings and the fees, per asset (for checks that the books balance). */
  totals(): Record<string, Amount> {
    const totals: Record<string, Amount> = {};
    for (const holdings of this.#holdings.values()) {
      for (const [asset, holding] of holdings)
        totals[asset] = (totals[asset] ?? 0n) + holding.available + holding.locked;
    }
    for (const [asset, fee] of this.#fees) totals[asset] = (totals[asset] ?? 0n) + fee;
    return totals;
  }

  #holding(accountId: string, asset: string): Holding {
    let holdings = this.#holdings.get(accountId);
    if (holdings === undefined) {
      holdings = new Map();
      this.#holdings.set(accountId, holdings);
    }
    let holding = holdings.get(asset);
    if (holding === undefined) {
      holding = { available: 0n, locked: 0n };
      holdings.set(asset, holding);
    }
    return holding;
  }
}

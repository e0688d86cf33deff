import type { Amount } from '../decimal';

/** An account's money, as the withdrawals see it. */
export interface WithdrawalAccount {
  readonly account: string;
  /** What it was opened with: always `available + reserved + paidOut`. */
  readonly opening: Amount;
  readonly available: Amount;
  readonly reserved: Amount;
  readonly paidOut: Amount;
}

/** What the book did for a withdrawal: one entry per command it applied. */
export type LedgerKind = 'reserve' | 'reject' | 'settle' | 'release';

/** What the payout provider decided for a withdrawal. `pending`: it has not (it never answers). */
export type PayoutDecision = 'paid' | 'failed' | 'pending' | 'cancelled';

/**
 * Where the withdrawals keep money and the fake provider keeps its decisions: in memory for the
 * embedded demo, in PostgreSQL (in the handler's transaction) otherwise. The book applies what it
 * is told and writes a ledger entry each time, without guarding against a command applied twice:
 * that is the inbox's and the process's job, and the ledger is how the tests check they did it.
 */
export interface WithdrawalBook {
  /** Gives an account its starting balance, unless it has one. */
  open(account: string, available: Amount): Promise<void>;
  /** available → reserved when there is enough (`true`), else a `reject` entry (`false`). */
  reserve(withdrawalId: string, account: string, amount: Amount): Promise<boolean>;
  /** reserved → paid out. */
  settle(withdrawalId: string, account: string, amount: Amount): Promise<void>;
  /** reserved → available. */
  release(withdrawalId: string, account: string, amount: Amount): Promise<void>;
  accounts(): Promise<WithdrawalAccount[]>;
  /** How many entries of each kind each withdrawal has. */
  ledger(): Promise<Map<string, Record<LedgerKind, number>>>;
  /**
   * The provider records its decision for a payout request, unless it decided before (a cancel
   * that came first); returns the decision that stands.
   */
  decide(withdrawalId: string, amount: Amount, decision: PayoutDecision): Promise<PayoutDecision>;
  /** The provider cancels an undecided payout; returns the decision that stands. */
  cancel(withdrawalId: string, amount: Amount): Promise<PayoutDecision>;
  /** What the provider paid out in all. */
  providerPaid(): Promise<Amount>;
}

const emptyCounts = (): Record<LedgerKind, number> => ({ reserve: 0, reject: 0, settle: 0, release: 0 });

/** The book of the embedded demo: Maps, one process. */
export function createMemoryWithdrawalBook(): WithdrawalBook {
  const accounts = new Map<
    string,
    { opening: Amount; available: Amount; reserved: Amount; paidOut: Amount }
  >();
  const ledger = new Map<string, Record<LedgerKind, number>>();
  const decisions = new Map<string, { amount: Amount; decision: PayoutDecision }>();
  const entry = (withdrawalId: string, kind: LedgerKind) => {
    const counts = ledger.get(withdrawalId) ?? emptyCounts();
    counts[kind] += 1;
    ledger.set(withdrawalId, counts);
  };
  const accountOf = (account: string) => {
    const found = accounts.get(account);
    if (found === undefined) throw new RangeError(`unknown account ${account}`);
    return found;
  };
  return {
    async open(account, available) {
      if (!accounts.has(account))
        accounts.set(account, { opening: available, available, reserved: 0n, paidOut: 0n });
    },
    async reserve(withdrawalId, account, amount) {
      const balance = accountOf(account);
      if (balance.available < amount) {
        entry(withdrawalId, 'reject');
        return false;
      }
      balance.available -= amount;
      balance.reserved += amount;
      entry(withdrawalId, 'reserve');
      return true;
    },
    async settle(withdrawalId, account, amount) {
      const balance = accountOf(account);
      balance.reserved -= amount;
      balance.paidOut += amount;
      entry(withdrawalId, 'settle');
    },
    async release(withdrawalId, account, amount) {
      const balance = accountOf(account);
      balance.reserved -= amount;
      balance.available += amount;
      entry(withdrawalId, 'release');
    },
    async accounts() {
      return [...accounts].map(([account, balance]) => ({ account, ...balance }));
    },
    async ledger() {
      return new Map([...ledger].map(([id, counts]) => [id, { ...counts }]));
    },
    async decide(withdrawalId, amount, decision) {
      const existing = decisions.get(withdrawalId);
      if (existing !== undefined) return existing.decision;
      decisions.set(withdrawalId, { amount, decision });
      return decision;
    },
    async cancel(withdrawalId, amount) {
      const existing = decisions.get(withdrawalId);
      if (existing === undefined || existing.decision === 'pending') {
        decisions.set(withdrawalId, { amount, decision: 'cancelled' });
        return 'cancelled';
      }
      return existing.decision;
    },
    async providerPaid() {
      let paid = 0n;
      for (const { amount, decision } of decisions.values()) if (decision === 'paid') paid += amount;
      return paid;
    },
  };
}

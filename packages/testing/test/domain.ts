// A small bank for the kit's own tests: an account aggregate (class and decider forms), its
// commands, events, queries and a projection. Amounts are decimal strings of whole units.
import { AggregateRoot, Command, DomainEvent, FinAegisError, Projection, Query } from '@finaegis/core';

export class Deposited extends DomainEvent {
  static readonly messageType = 'bank.Deposited';
  constructor(
    readonly accountId: string,
    readonly amount: string,
  ) {
    super({ aggregateId: accountId, aggregateType: 'bank.Account' });
  }
}

export class Withdrawn extends DomainEvent {
  static readonly messageType = 'bank.Withdrawn';
  constructor(
    readonly accountId: string,
    readonly amount: string,
  ) {
    super({ aggregateId: accountId, aggregateType: 'bank.Account' });
  }
}

export class AccountFrozen extends DomainEvent {
  static readonly messageType = 'bank.AccountFrozen';
  constructor(
    readonly accountId: string,
    readonly reason: string,
  ) {
    super({ aggregateId: accountId, aggregateType: 'bank.Account' });
  }
}

/** An event the account never raises (for the checks that refuse it). */
export class CardIssued extends DomainEvent {
  static readonly messageType = 'bank.CardIssued';
  constructor(readonly cardNumber: string) {
    super();
  }
}

export class InsufficientFundsError extends FinAegisError {
  readonly code = 'INSUFFICIENT_FUNDS';
  override readonly retryable = false;
  constructor(accountId: string, balance: bigint, amount: bigint) {
    super(`account ${accountId} holds ${balance}, cannot withdraw ${amount}`, { adapter: 'bank' });
  }
}

export const ACCOUNT_EVENTS = [Deposited, Withdrawn, AccountFrozen] as const;

export class Account extends AggregateRoot {
  static override readonly aggregateType = 'bank.Account';
  balance = 0n;
  frozen = false;

  constructor(id: string) {
    super(id);
    this.on(Deposited, (e) => {
      this.balance += BigInt(e.amount);
    });
    this.on(Withdrawn, (e) => {
      this.balance -= BigInt(e.amount);
    });
    this.on(AccountFrozen, () => {
      this.frozen = true;
    });
  }

  deposit(amount: string): bigint {
    this.raise(new Deposited(this.id, amount));
    return this.balance;
  }

  withdraw(amount: string): bigint {
    const wanted = BigInt(amount);
    if (wanted > this.balance) throw new InsufficientFundsError(this.id, this.balance, wanted);
    this.raise(new Withdrawn(this.id, amount));
    if (this.balance === 0n) this.raise(new AccountFrozen(this.id, 'empty'));
    return this.balance;
  }

  async depositLater(amount: string): Promise<bigint> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.deposit(amount);
  }

  /** Raises an event the spec was not told about. */
  issueCard(): void {
    this.raise(new CardIssued('4111'));
  }
}

// The same account as a decider, with plain-object commands and events.
export type AccountCommand =
  | { readonly type: 'Deposit'; readonly amount: bigint }
  | { readonly type: 'Withdraw'; readonly amount: bigint };
export type AccountEvent =
  | { readonly type: 'Deposited'; readonly amount: bigint }
  | { readonly type: 'Withdrawn'; readonly amount: bigint };
export interface AccountState {
  readonly balance: bigint;
  readonly movements: number;
}

export const accountDecider = {
  initialState: (): AccountState => ({ balance: 0n, movements: 0 }),
  evolve(state: AccountState, event: AccountEvent): AccountState {
    const sign = event.type === 'Deposited' ? 1n : -1n;
    return { balance: state.balance + sign * event.amount, movements: state.movements + 1 };
  },
  decide(command: AccountCommand, state: AccountState): AccountEvent[] {
    if (command.type === 'Deposit') return [{ type: 'Deposited', amount: command.amount }];
    if (command.amount > state.balance)
      throw new InsufficientFundsError('decider', state.balance, command.amount);
    return [{ type: 'Withdrawn', amount: command.amount }];
  },
};

// Commands and queries for app specs.
export class OpenAccount extends Command<string> {
  static readonly messageType = 'bank.OpenAccount';
  constructor(
    readonly accountId: string,
    readonly initial: string,
  ) {
    super();
  }
}

export class SendStatement extends Command {
  static readonly messageType = 'bank.SendStatement';
  constructor(readonly accountId: string) {
    super();
  }
}

export class GetBalance extends Query<{ accountId: string; balance: string }> {
  static readonly messageType = 'bank.GetBalance';
  constructor(readonly accountId: string) {
    super();
  }
}

/** A read model: balances per account, kept by a projection. */
export function balancesProjection(): { projection: Projection; balances: Map<string, bigint> } {
  const balances = new Map<string, bigint>();
  const projection = new Projection('balances')
    .on(Deposited, (e) => {
      balances.set(e.accountId, (balances.get(e.accountId) ?? 0n) + BigInt(e.amount));
    })
    .on(Withdrawn, (e) => {
      balances.set(e.accountId, (balances.get(e.accountId) ?? 0n) - BigInt(e.amount));
    })
    .onReset(() => balances.clear());
  return { projection, balances };
}

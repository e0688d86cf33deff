import { AggregateRoot, DomainEvent, FinAegisError } from '@finaegis/core';
import { aggregateSpec, like } from '@finaegis/testing';
import { expect } from 'vitest';

class Deposited extends DomainEvent {
  static readonly messageType = 'bank.Deposited';
  constructor(readonly amount: string) {
    super();
  }
}
class Withdrawn extends DomainEvent {
  static readonly messageType = 'bank.Withdrawn';
  constructor(readonly amount: string) {
    super();
  }
}
class InsufficientFunds extends FinAegisError {
  readonly code = 'INSUFFICIENT_FUNDS';
}

class Account extends AggregateRoot {
  static override readonly aggregateType = 'bank.Account';
  balance = 0n;
  constructor(id: string) {
    super(id);
    this.on(Deposited, (e) => void (this.balance += BigInt(e.amount)));
    this.on(Withdrawn, (e) => void (this.balance -= BigInt(e.amount)));
  }
  withdraw(amount: string): bigint {
    if (BigInt(amount) > this.balance) throw new InsufficientFunds(`cannot withdraw ${amount}`);
    this.raise(new Withdrawn(amount));
    return this.balance;
  }
}

const account = aggregateSpec(Account, { events: [Deposited, Withdrawn] });
const funded = account.given(new Deposited('100'));

funded
  .when((a) => a.withdraw('30'))
  .thenEvents(like(Withdrawn, { amount: '30' }))
  .thenReturns(70n)
  .thenState((a) => expect(a.balance).toBe(70n));

funded.when((a) => a.withdraw('500')).thenError(InsufficientFunds, 'cannot withdraw 500');

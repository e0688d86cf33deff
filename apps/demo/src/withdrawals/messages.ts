// Withdrawals: a customer takes money out; the process reserves it, asks a payout provider to pay
// it, then settles (the money left) or releases it (the payout failed, was cancelled or timed out).
import { Command, DomainEvent, invalid } from '@finaegis/core';
import { decimalProblem } from '../decimal';

const text = (value: unknown) =>
  typeof value === 'string' && value !== '' ? [] : ['must be a non-empty string'];
const amount = (value: unknown) => {
  const problem = decimalProblem(value);
  return problem === undefined ? [] : [problem];
};

/** Base of the withdrawal events: each names its withdrawal (the process's correlation). */
abstract class WithdrawalEvent extends DomainEvent {
  constructor(readonly withdrawalId: string) {
    super({ aggregateId: withdrawalId, aggregateType: 'demo.Withdrawal' });
  }
}

/** A customer asked to withdraw `amount` from `account`. Starts the process. */
export class WithdrawalRequested extends WithdrawalEvent {
  static readonly messageType = 'demo.WithdrawalRequested';
  constructor(
    withdrawalId: string,
    readonly account: string,
    readonly amount: string,
  ) {
    super(withdrawalId);
    this.validate();
  }
  validate(): void {
    invalid(this, {
      withdrawalId: text(this.withdrawalId),
      account: text(this.account),
      amount: amount(this.amount),
    });
  }
}
export class FundsReserved extends WithdrawalEvent {
  static readonly messageType = 'demo.FundsReserved';
}
export class ReservationRejected extends WithdrawalEvent {
  static readonly messageType = 'demo.ReservationRejected';
}
/** The provider paid the money out. */
export class PayoutSucceeded extends WithdrawalEvent {
  static readonly messageType = 'demo.PayoutSucceeded';
}
/** The provider refused or failed; nothing was paid. */
export class PayoutFailed extends WithdrawalEvent {
  static readonly messageType = 'demo.PayoutFailed';
}
/** The provider accepted a cancellation before it paid; nothing was paid. */
export class PayoutCancelled extends WithdrawalEvent {
  static readonly messageType = 'demo.PayoutCancelled';
}
export class WithdrawalSettled extends WithdrawalEvent {
  static readonly messageType = 'demo.WithdrawalSettled';
}
export class FundsReleased extends WithdrawalEvent {
  static readonly messageType = 'demo.FundsReleased';
}

/** Base of the withdrawal commands. */
abstract class WithdrawalCommand extends Command {
  constructor(
    readonly withdrawalId: string,
    readonly account: string,
    readonly amount: string,
  ) {
    super();
  }
  override validate(): void {
    invalid(this, {
      withdrawalId: text(this.withdrawalId),
      account: text(this.account),
      amount: amount(this.amount),
    });
  }
}
/** Moves the amount from available to reserved, or rejects when it is not available. */
export class ReserveFunds extends WithdrawalCommand {
  static readonly messageType = 'demo.ReserveFunds';
}
/** Asks the payout provider to pay the amount. */
export class RequestPayout extends WithdrawalCommand {
  static readonly messageType = 'demo.RequestPayout';
}
/** Asks the provider to cancel a payout it has not made; it answers with what it did. */
export class CancelPayout extends WithdrawalCommand {
  static readonly messageType = 'demo.CancelPayout';
}
/** The reserved amount has left: reserved → paid out. */
export class SettleWithdrawal extends WithdrawalCommand {
  static readonly messageType = 'demo.SettleWithdrawal';
}
/** The reserved amount goes back: reserved → available. */
export class ReleaseFunds extends WithdrawalCommand {
  static readonly messageType = 'demo.ReleaseFunds';
}

export const WITHDRAWAL_MESSAGES = [
  WithdrawalRequested,
  FundsReserved,
  ReservationRejected,
  PayoutSucceeded,
  PayoutFailed,
  PayoutCancelled,
  WithdrawalSettled,
  FundsReleased,
  ReserveFunds,
  RequestPayout,
  CancelPayout,
  SettleWithdrawal,
  ReleaseFunds,
] as const;

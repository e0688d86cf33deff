// A withdrawal process for the process spec tests: requested → reserve the funds and send the
// payout, then wait 30 s for the provider; confirmed → settle; rejected or no answer → release.
import { Command, DomainEvent, defineProcess, FinAegisError } from '@finaegis/core';

export class WithdrawalRequested extends DomainEvent {
  static readonly messageType = 'bank.WithdrawalRequested';
  constructor(
    readonly withdrawalId: string,
    readonly amount: string,
  ) {
    super({ aggregateId: withdrawalId, aggregateType: 'bank.Withdrawal' });
  }
}
export class PayoutConfirmed extends DomainEvent {
  static readonly messageType = 'bank.PayoutConfirmed';
  constructor(
    readonly withdrawalId: string,
    readonly amount: string,
  ) {
    super({ aggregateId: withdrawalId, aggregateType: 'bank.Withdrawal' });
  }
}
export class PayoutRejected extends DomainEvent {
  static readonly messageType = 'bank.PayoutRejected';
  constructor(
    readonly withdrawalId: string,
    readonly reason: string,
  ) {
    super({ aggregateId: withdrawalId, aggregateType: 'bank.Withdrawal' });
  }
}

export class ReserveFunds extends Command {
  static readonly messageType = 'bank.ReserveFunds';
  constructor(
    readonly withdrawalId: string,
    readonly amount: string,
  ) {
    super();
  }
}
export class SendPayout extends Command {
  static readonly messageType = 'bank.SendPayout';
  constructor(
    readonly withdrawalId: string,
    readonly amount: string,
  ) {
    super();
  }
}
export class SettleFunds extends Command {
  static readonly messageType = 'bank.SettleFunds';
  constructor(readonly withdrawalId: string) {
    super();
  }
}
export class ReleaseFunds extends Command {
  static readonly messageType = 'bank.ReleaseFunds';
  constructor(
    readonly withdrawalId: string,
    readonly why: string,
  ) {
    super();
  }
}
/** A command the withdrawal never sends (for the checks that refuse it). */
export class FreezeAccount extends Command {
  static readonly messageType = 'bank.FreezeAccount';
  constructor(readonly accountId: string) {
    super();
  }
}

/** The provider paid out another amount than the one requested: a step that fails. */
export class PayoutMismatchError extends FinAegisError {
  readonly code = 'PAYOUT_MISMATCH';
}

export interface Withdrawal {
  readonly withdrawalId: string;
  readonly amount: string;
  readonly stage: 'paying' | 'settled' | 'released';
}

export const PAYOUT_TIMEOUT_SECONDS = 30;

export const withdrawal = defineProcess<Withdrawal, 'payout'>('bank.Withdrawal')
  .startedBy(
    WithdrawalRequested,
    (e) => e.withdrawalId,
    (e, step) => {
      step.send(new ReserveFunds(e.withdrawalId, e.amount));
      step.send(new SendPayout(e.withdrawalId, e.amount));
      step.schedule('payout', PAYOUT_TIMEOUT_SECONDS);
      return { withdrawalId: e.withdrawalId, amount: e.amount, stage: 'paying' };
    },
  )
  .on(
    PayoutConfirmed,
    (e) => e.withdrawalId,
    (state, e, step) => {
      if (e.amount !== state.amount) {
        throw new PayoutMismatchError(`paid ${e.amount}, expected ${state.amount}`, {
          adapter: 'bank',
        });
      }
      step.cancel('payout');
      step.send(new SettleFunds(state.withdrawalId));
      step.complete();
      return { ...state, stage: 'settled' };
    },
  )
  .on(
    PayoutRejected,
    (e) => e.withdrawalId,
    (state, e, step) => {
      step.send(new ReleaseFunds(state.withdrawalId, e.reason));
      step.complete();
      return { ...state, stage: 'released' };
    },
  )
  .onTimeout('payout', (state, step) => {
    step.send(new ReleaseFunds(state.withdrawalId, 'timeout'));
    step.complete();
    return { ...state, stage: 'released' };
  });

export const WITHDRAWAL_COMMANDS = [ReserveFunds, SendPayout, SettleFunds, ReleaseFunds] as const;

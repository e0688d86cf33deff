import { defineProcess } from '@finaegis/core';
import {
  CancelPayout,
  FundsReleased,
  FundsReserved,
  PayoutCancelled,
  PayoutFailed,
  PayoutSucceeded,
  ReleaseFunds,
  RequestPayout,
  ReservationRejected,
  ReserveFunds,
  SettleWithdrawal,
  WithdrawalRequested,
  WithdrawalSettled,
} from './messages';

/** Where a withdrawal stands. `rejected`, `settled` and `released` are the ends. */
export type WithdrawalStage =
  | 'reserving'
  | 'paying'
  | 'cancelling'
  | 'settling'
  | 'releasing'
  | 'rejected'
  | 'settled'
  | 'released';

export interface WithdrawalState {
  readonly withdrawalId: string;
  readonly account: string;
  readonly amount: string;
  readonly stage: WithdrawalStage;
  /** How the payout ended: what the provider said, or that we gave up waiting. */
  readonly payout?: 'succeeded' | 'failed' | 'cancelled';
  /** Cancellations asked after the provider did not answer in time. */
  readonly cancelRequests: number;
}

export interface WithdrawalProcessOptions {
  /** Seconds to wait for the provider's answer before asking it to cancel. */
  readonly payoutTimeoutSeconds: number;
}

/**
 * The withdrawal process. The provider has the last word on whether money left: on a timeout the
 * process does not release at once (a slow payout may still go through), it asks the provider to
 * cancel, and the provider answers with what it did (paid, failed or cancelled). It asks again,
 * waiting longer each time, until it gets an answer, so a withdrawal never stays stuck.
 */
export function withdrawalProcess(options: WithdrawalProcessOptions) {
  const command = <C>(make: new (id: string, account: string, amount: string) => C, s: WithdrawalState) =>
    new make(s.withdrawalId, s.account, s.amount);
  return defineProcess<WithdrawalState, 'payout'>('demo.Withdrawal')
    .startedBy(
      WithdrawalRequested,
      (event) => event.withdrawalId,
      (event, step) => {
        const state: WithdrawalState = {
          withdrawalId: event.withdrawalId,
          account: event.account,
          amount: event.amount,
          stage: 'reserving',
          cancelRequests: 0,
        };
        step.send(command(ReserveFunds, state));
        return state;
      },
    )
    .on(
      FundsReserved,
      (event) => event.withdrawalId,
      (state, _event, step) => {
        step.send(command(RequestPayout, state));
        step.schedule('payout', options.payoutTimeoutSeconds);
        return { ...state, stage: 'paying' };
      },
    )
    .on(
      ReservationRejected,
      (event) => event.withdrawalId,
      (state, _event, step) => {
        step.complete();
        return { ...state, stage: 'rejected' };
      },
    )
    .on(
      PayoutSucceeded,
      (event) => event.withdrawalId,
      (state, _event, step) => {
        // A second answer (to a repeated cancel) changes nothing.
        if (state.stage !== 'paying' && state.stage !== 'cancelling') return undefined;
        step.cancel('payout');
        step.send(command(SettleWithdrawal, state));
        return { ...state, stage: 'settling', payout: 'succeeded' };
      },
    )
    .on(
      PayoutFailed,
      (event) => event.withdrawalId,
      (state, _event, step) => release(state, step, 'failed'),
    )
    .on(
      PayoutCancelled,
      (event) => event.withdrawalId,
      (state, _event, step) => release(state, step, 'cancelled'),
    )
    .on(
      WithdrawalSettled,
      (event) => event.withdrawalId,
      (state, _event, step) => {
        step.complete();
        return { ...state, stage: 'settled' };
      },
    )
    .on(
      FundsReleased,
      (event) => event.withdrawalId,
      (state, _event, step) => {
        step.complete();
        return { ...state, stage: 'released' };
      },
    )
    .onTimeout('payout', (state, step) => {
      step.send(command(CancelPayout, state));
      // Asked again, later each time, until the provider answers.
      step.schedule('payout', options.payoutTimeoutSeconds * 2 ** Math.min(state.cancelRequests + 1, 5));
      return { ...state, stage: 'cancelling', cancelRequests: state.cancelRequests + 1 };
    })
    .compensateWith((state, step) => {
      // An operator's call, once the provider has confirmed it paid nothing: what was reserved and
      // is neither settled nor being released goes back.
      if (state === undefined || (state.stage !== 'paying' && state.stage !== 'cancelling')) return state;
      step.send(command(ReleaseFunds, state));
      return { ...state, stage: 'released' };
    });

  function release(
    state: WithdrawalState,
    step: { cancel(name: 'payout'): void; send(c: ReleaseFunds): void },
    payout: 'failed' | 'cancelled',
  ): WithdrawalState | undefined {
    if (state.stage !== 'paying' && state.stage !== 'cancelling') return undefined;
    step.cancel('payout');
    step.send(command(ReleaseFunds, state));
    return { ...state, stage: 'releasing', payout };
  }
}

/** The definition's type, for typed lookups (`processes.get(definition, id)`). */
export type WithdrawalProcess = ReturnType<typeof withdrawalProcess>;

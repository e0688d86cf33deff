// Type inference end to end. Every `@ts-expect-error` below marks a mistake the compiler must catch;
// test/types.test.ts compiles this file and fails if one of them compiles (or anything else fails).
// The calls are never run: they sit in a function nobody calls.
import { expect } from 'vitest';
import {
  aggregateSpec,
  assertCached,
  assertPublished,
  type createTestApp,
  deciderSpec,
  like,
  processSpec,
  projectionSpec,
  timePasses,
} from '../../src/index';
import '../vitest-matchers';
import {
  ACCOUNT_EVENTS,
  Account,
  accountDecider,
  balancesProjection,
  CardIssued,
  Deposited,
  GetBalance,
  InsufficientFundsError,
  OpenAccount,
  Withdrawn,
} from '../domain';
import {
  FreezeAccount,
  ReleaseFunds,
  SettleFunds,
  WITHDRAWAL_COMMANDS,
  type Withdrawal,
  WithdrawalRequested,
  withdrawal,
} from '../process-domain';

export async function typeChecks(app: Awaited<ReturnType<typeof createTestApp>>): Promise<void> {
  const account = aggregateSpec(Account, { events: ACCOUNT_EVENTS });
  const funded = account.given(new Deposited('a', '100'));

  // Right: classes of the spec, their fields, the typed result and error.
  const outcome = funded.when((a) => a.withdraw('1')).thenEvents(like(Withdrawn, { amount: '1' }));
  const balance: bigint = outcome.result;
  const withdrawn: Withdrawn[] = outcome.eventsOf(Withdrawn);
  const failed = funded.when((a) => a.withdraw('500')).thenError(InsufficientFundsError);
  const code: string = failed.error.code;
  void [balance, withdrawn, code];

  // @ts-expect-error an event class the spec was not given
  funded.when((a) => a.withdraw('1')).thenEvents(like(CardIssued));
  // @ts-expect-error an event instance of a class the spec was not given
  funded.when((a) => a.withdraw('1')).thenEvents(new CardIssued('4111'));
  // @ts-expect-error a field the event does not have
  funded.when((a) => a.withdraw('1')).thenEvents(like(Withdrawn, { amout: '1' }));
  // @ts-expect-error a field of the wrong type (amounts are decimal strings)
  funded.when((a) => a.withdraw('1')).thenEvents(like(Withdrawn, { amount: 1 }));
  // @ts-expect-error a past event of a class the spec was not given
  account.given(new CardIssued('4111'));
  // @ts-expect-error the result of withdraw is a bigint
  const text: string = funded.when((a) => a.withdraw('1')).thenNoEvents().result;
  // @ts-expect-error the error is typed by the class given to thenError
  void failed.error.balance;
  const later = funded.when(async (a) => a.withdraw('1')).thenEvents(like(Withdrawn));
  // @ts-expect-error an async when gives a promise of the outcome, not the outcome
  later.thenState({});
  void text;

  const decider = deciderSpec(accountDecider).given({ type: 'Deposited', amount: 10n });
  decider.when({ type: 'Withdraw', amount: 1n }).thenEvents({ type: 'Withdrawn', amount: 1n });
  // @ts-expect-error amounts of the decider are bigints
  decider.when({ type: 'Withdraw', amount: 1 });
  // @ts-expect-error an event the decider does not have
  decider.when({ type: 'Withdraw', amount: 1n }).thenEvents({ type: 'Frozen' });
  // @ts-expect-error a past event the decider does not have
  decider.given({ type: 'Opened' });

  expect(app).toHavePublished(Deposited, { accountId: 'a', amount: '100' });
  expect(app).toHaveDispatched(OpenAccount, { initial: '1' }, { async: true });
  expect(app).toHaveCached(GetBalance, { accountId: 'a' }, { value: { balance: '1' } });
  // @ts-expect-error a command is dispatched, not published
  expect(app).toHavePublished(OpenAccount);
  // @ts-expect-error OrderPlaced-style fields the event does not have
  expect(app).toHavePublished(Deposited, { pair: 'BTC/USD' });
  // @ts-expect-error the cached value is the query's result type
  expect(app).toHaveCached(GetBalance, {}, { value: { balance: 1 } });
  // @ts-expect-error an event is published, not dispatched
  expect(app).toHaveDispatched(Deposited);
  // @ts-expect-error the same checks without a runner
  assertPublished(app, Deposited, { amount: 100 });
  // @ts-expect-error a query class is needed
  assertCached(app, Deposited);

  const { projection } = balancesProjection();
  const spec = projectionSpec(projection, { events: [Deposited, Withdrawn] });
  await spec.given(new Deposited('a', '1')).thenAnswers(new GetBalance('a'), { balance: '1' });
  // @ts-expect-error an event class the projection spec was not given
  spec.given(new CardIssued('4111'));
  // @ts-expect-error the answer is the query's result type
  await spec.given().thenAnswers(new GetBalance('a'), { balance: 1n });

  const payouts = processSpec(withdrawal, { commands: WITHDRAWAL_COMMANDS });
  const requested = payouts.given(new WithdrawalRequested('w', '1'));
  const done = await requested
    .when(timePasses(30_000))
    .thenCommands(like(ReleaseFunds, { why: 'timeout' }), new SettleFunds('w'))
    .thenState({ stage: 'released' })
    .thenArmed({ payout: 1 });
  const state: Withdrawal | undefined = done.process?.state;
  const released: ReleaseFunds[] = done.commandsOf(ReleaseFunds);
  void [state, released];
  // @ts-expect-error a command class the process spec was not given
  requested.when(timePasses(1)).thenCommands(like(FreezeAccount));
  // @ts-expect-error a command instance of a class the process spec was not given
  requested.when(timePasses(1)).thenCommandsInclude(new FreezeAccount('a'));
  // @ts-expect-error an event is not a command
  requested.when(timePasses(1)).thenCommands(like(WithdrawalRequested));
  // @ts-expect-error a field the command does not have
  requested.when(timePasses(1)).thenCommands(like(ReleaseFunds, { reason: 'timeout' }));
  // @ts-expect-error a stage the process state does not have
  requested.when(timePasses(1)).thenState({ stage: 'lost' });
  // @ts-expect-error a status processes do not have
  requested.when(timePasses(1)).thenStatus('done');
  // @ts-expect-error a timeout name the definition does not have
  requested.when(timePasses(1)).thenArmed({ payment: 1 });
  // @ts-expect-error given state is the definition's state
  payouts.givenState('w', { withdrawalId: 'w', amount: 1, stage: 'paying' });
  // @ts-expect-error a command is not a step: events, time passing or functions
  payouts.when(new SettleFunds('w'));
}

import { InvalidArgumentError } from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { aggregateSpec, like, SpecAssertionError } from '../src/index';
import {
  ACCOUNT_EVENTS,
  Account,
  AccountFrozen,
  Deposited,
  InsufficientFundsError,
  Withdrawn,
} from './domain';

const account = aggregateSpec(Account, { events: ACCOUNT_EVENTS, id: 'acc-1' });
const funded = account.given(new Deposited('acc-1', '100'));

/** The SpecAssertionError `run` throws (the test fails when it throws none or another error). */
function failure(run: () => unknown): SpecAssertionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SpecAssertionError);
    return error as SpecAssertionError;
  }
  throw new SpecAssertionError('expected the spec to fail, and it passed');
}

describe('aggregateSpec: then events', () => {
  test('given events replayed, when a call, then exactly its events (instances or like), result and state', () => {
    const outcome = funded
      .when((a) => a.withdraw('30'))
      .thenEvents(like(Withdrawn, { amount: '30' }))
      .thenReturns(70n)
      .thenState((a) => expect(a.balance).toBe(70n));
    expect(outcome.events).toHaveLength(1);
    expect(outcome.events[0]).toMatchObject({ aggregateId: 'acc-1', version: 2, accountId: 'acc-1' });
    expect(outcome.state.version).toBe(2);
    funded.when((a) => a.withdraw('30')).thenEvents(new Withdrawn('acc-1', '30'));
  });

  test('a call in given raises the past: its events are not the ones checked', () => {
    account
      .given((a) => a.deposit('50'), new Deposited('acc-1', '50'))
      .when((a) => a.withdraw('100'))
      .thenEvents(like(Withdrawn, { amount: '100' }), like(AccountFrozen, { reason: 'empty' }))
      .thenState({ balance: 0n, frozen: true });
  });

  test('one given is shared: each then runs on a new aggregate', () => {
    funded.when((a) => a.withdraw('100')).thenEvents(like(Withdrawn), like(AccountFrozen));
    funded.when((a) => a.withdraw('100')).thenEvents(like(Withdrawn), like(AccountFrozen));
    funded
      .when((a) => a.deposit('1'))
      .thenEvents(like(Deposited))
      .thenReturns(101n);
  });

  test('thenEventsInclude finds events in order among others', () => {
    funded.when((a) => a.withdraw('100')).thenEventsInclude(like(AccountFrozen));
    funded.when((a) => a.withdraw('100')).thenEventsInclude(like(Withdrawn), like(AccountFrozen));
    const error = failure(() =>
      funded.when((a) => a.withdraw('100')).thenEventsInclude(like(AccountFrozen), like(Withdrawn)),
    );
    expect(error.message).toContain('expected event 2 (bank.Withdrawn like {}) does not follow event 2');
  });

  test('thenNoEvents: a call that raises nothing', () => {
    funded
      .when((a) => a.balance)
      .thenNoEvents()
      .thenReturns(100n);
    const error = failure(() => funded.when((a) => a.deposit('1')).thenNoEvents());
    expect(error.message).toContain('event 1 was not expected (bank.Deposited');
  });

  test('a when that returns a promise makes then return a promise of the outcome', async () => {
    const outcome = await funded
      .when((a) => a.depositLater('5'))
      .thenEvents(like(Deposited, { amount: '5' }));
    expect(outcome.result).toBe(105n);
    await funded
      .when(async (a) => a.withdraw('500'))
      .thenError(InsufficientFundsError, 'cannot withdraw 500');
  });
});

describe('aggregateSpec: failures say what differs', () => {
  test('a different field: the event, the field, both values, and a diff of what was looked at', () => {
    const error = failure(() =>
      funded.when((a) => a.withdraw('30')).thenEvents(like(Withdrawn, { amount: '31' })),
    );
    expect(error.message).toContain("event 1: amount: expected '31', got '30'");
    expect(error.message).toMatch(/expected:\n {4}1\. bank\.Withdrawn like \{ amount: '31' \}/);
    expect(error.expected).toEqual([{ type: 'bank.Withdrawn', amount: '31' }]);
    expect(error.actual).toEqual([{ type: 'bank.Withdrawn', amount: '30' }]);
  });

  test('a different class, a missing event, an extra event', () => {
    expect(failure(() => funded.when((a) => a.withdraw('30')).thenEvents(like(Deposited))).message).toContain(
      'event 1: expected bank.Deposited, got bank.Withdrawn',
    );
    expect(
      failure(() => funded.when((a) => a.withdraw('30')).thenEvents(like(Withdrawn), like(AccountFrozen)))
        .message,
    ).toContain('event 2 is missing (bank.AccountFrozen like {})');
    expect(
      failure(() => funded.when((a) => a.withdraw('100')).thenEvents(like(Withdrawn))).message,
    ).toContain('event 2 was not expected (bank.AccountFrozen');
  });

  test('an instance expected: every field must be equal', () => {
    const error = failure(() =>
      funded.when((a) => a.withdraw('30')).thenEvents(new Withdrawn('acc-2', '30')),
    );
    expect(error.message).toContain("accountId: expected 'acc-2', got 'acc-1'");
  });

  test('expected events but the call threw: the error is named and kept as cause', () => {
    const error = failure(() => funded.when((a) => a.withdraw('500')).thenEvents(like(Withdrawn)));
    expect(error.message).toContain('expected events, but the when step threw InsufficientFundsError');
    expect(error.cause).toBeInstanceOf(InsufficientFundsError);
  });

  test('result and state checks fail naming the field', () => {
    expect(
      failure(() =>
        funded
          .when((a) => a.withdraw('30'))
          .thenEvents(like(Withdrawn))
          .thenReturns(71n),
      ).message,
    ).toContain('the result is not as expected: expected 71n, got 70n');
    expect(
      failure(() =>
        funded
          .when((a) => a.withdraw('30'))
          .thenEvents(like(Withdrawn))
          .thenState({ balance: 1n }),
      ).message,
    ).toContain('the state is not as expected: balance: expected 1n, got 70n');
  });

  test('an event of a class the spec was not given fails the spec, in when and in given', () => {
    expect(failure(() => funded.when((a) => a.issueCard()).thenNoEvents()).message).toContain(
      'bank.CardIssued is not among the event classes given to the spec',
    );
    expect(
      failure(() =>
        account
          .given((a) => a.issueCard())
          .when((a) => a.balance)
          .thenNoEvents(),
      ).message,
    ).toContain('given: bank.CardIssued is not among');
  });
});

describe('aggregateSpec: then error', () => {
  test('the class and a message part (string) or pattern (RegExp); the outcome holds the typed error', () => {
    const outcome = funded.when((a) => a.withdraw('500')).thenError(InsufficientFundsError, 'holds 100');
    expect(outcome.error.code).toBe('INSUFFICIENT_FUNDS');
    expect(outcome.events).toEqual([]);
    funded.when((a) => a.withdraw('500')).thenError(InsufficientFundsError, /cannot withdraw \d+/);
    funded.when((a) => a.withdraw('500')).thenError(Error);
  });

  test('fails when nothing is thrown, another class is thrown, or the message differs', () => {
    expect(
      failure(() => funded.when((a) => a.withdraw('5')).thenError(InsufficientFundsError)).message,
    ).toContain(
      'expected InsufficientFundsError to be thrown, but nothing was thrown; events:\n    1. bank.Withdrawn',
    );
    expect(failure(() => funded.when((a) => a.withdraw('500')).thenError(RangeError)).message).toContain(
      'expected RangeError, got InsufficientFundsError: [bank] account acc-1 holds 100, cannot withdraw 500',
    );
    expect(
      failure(() => funded.when((a) => a.withdraw('500')).thenError(InsufficientFundsError, 'holds 99'))
        .message,
    ).toContain("with a message containing 'holds 99', got: [bank] account acc-1 holds 100");
  });

  test('bad arguments are refused naming them', () => {
    expect(() => aggregateSpec(undefined as never, { events: [] })).toThrow(InvalidArgumentError);
    expect(() => aggregateSpec(Account, { events: [1] as never })).toThrow(/invalid events/);
    expect(() => funded.when('withdraw' as never)).toThrow(/invalid when/);
    expect(() => funded.when((a) => a.balance).thenError('Error' as never)).toThrow(/invalid errorClass/);
  });
});

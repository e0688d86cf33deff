import { describe, expect, test } from 'vitest';
import { deciderSpec, like, SpecAssertionError } from '../src/index';
import { accountDecider, Deposited, InsufficientFundsError, Withdrawn } from './domain';

const account = deciderSpec(accountDecider);

describe('deciderSpec', () => {
  test('given events folded by evolve, when a command, then the decided events and the state after them', () => {
    const outcome = account
      .given({ type: 'Deposited', amount: 100n }, { type: 'Withdrawn', amount: 20n })
      .when({ type: 'Withdraw', amount: 30n })
      .thenEvents({ type: 'Withdrawn', amount: 30n })
      .thenState({ balance: 50n, movements: 3 });
    expect(outcome.result).toEqual([{ type: 'Withdrawn', amount: 30n }]);
  });

  test('then error: the class, and the state before the command', () => {
    const outcome = account
      .given({ type: 'Deposited', amount: 10n })
      .when({ type: 'Withdraw', amount: 30n })
      .thenError(InsufficientFundsError, 'holds 10');
    expect(outcome.state).toEqual({ balance: 10n, movements: 1 });
  });

  test('a plain event is compared whole: a different value fails naming it', () => {
    try {
      account.when({ type: 'Deposit', amount: 5n }).thenEvents({ type: 'Deposited', amount: 6n });
    } catch (error) {
      expect(error).toBeInstanceOf(SpecAssertionError);
      expect((error as Error).message).toContain('event 1: amount: expected 6n, got 5n');
      return;
    }
    throw new SpecAssertionError('expected a failure');
  });

  test('class events work too, with like() for some of their fields', () => {
    const decider = {
      initialState: () => 0n,
      evolve: (balance: bigint, event: Deposited | Withdrawn) =>
        event instanceof Deposited ? balance + BigInt(event.amount) : balance - BigInt(event.amount),
      decide: (amount: bigint, balance: bigint) =>
        amount > balance ? [] : [new Withdrawn('a', String(amount))],
    };
    deciderSpec(decider)
      .given(new Deposited('a', '10'))
      .when(4n)
      .thenEvents(like(Withdrawn, { amount: '4' }))
      .thenState(6n);
    deciderSpec(decider).when(4n).thenNoEvents().thenState(0n);
  });

  test('a decider without its functions is refused naming the missing one', () => {
    expect(() => deciderSpec({ ...accountDecider, evolve: undefined } as never)).toThrow(
      /invalid decider\.evolve/,
    );
  });
});

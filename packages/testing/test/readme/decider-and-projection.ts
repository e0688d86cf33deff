import { DomainEvent, Projection, Query } from '@finaegis/core';
import { deciderSpec, projectionSpec } from '@finaegis/testing';

type Command = { type: 'Deposit'; amount: bigint } | { type: 'Close' };
type Event = { type: 'Deposited'; amount: bigint } | { type: 'Closed' };
const account = {
  initialState: () => ({ balance: 0n, open: true }),
  evolve: (state: { balance: bigint; open: boolean }, event: Event) =>
    event.type === 'Deposited'
      ? { ...state, balance: state.balance + event.amount }
      : { ...state, open: false },
  decide: (command: Command, state: { balance: bigint; open: boolean }): Event[] => {
    if (!state.open) throw new RangeError('account closed');
    return command.type === 'Deposit'
      ? [{ type: 'Deposited', amount: command.amount }]
      : [{ type: 'Closed' }];
  },
};

deciderSpec(account)
  .given({ type: 'Deposited', amount: 5n })
  .when({ type: 'Deposit', amount: 10n })
  .thenEvents({ type: 'Deposited', amount: 10n })
  .thenState({ balance: 15n });
deciderSpec(account).given({ type: 'Closed' }).when({ type: 'Close' }).thenError(RangeError, 'closed');

class Deposited extends DomainEvent {
  static readonly messageType = 'bank.Deposited';
  constructor(
    readonly accountId: string,
    readonly amount: string,
  ) {
    super();
  }
}
class GetBalance extends Query<string> {
  static readonly messageType = 'bank.GetBalance';
  constructor(readonly accountId: string) {
    super();
  }
}
const balances = new Map<string, bigint>();
const projection = new Projection('balances')
  .on(Deposited, (e) => void balances.set(e.accountId, (balances.get(e.accountId) ?? 0n) + BigInt(e.amount)))
  .onReset(() => balances.clear());

await projectionSpec(projection, {
  events: [Deposited],
  queries: (bus) => bus.register(GetBalance, (q) => String(balances.get(q.accountId) ?? 0n)),
})
  .given(new Deposited('alice', '10'), new Deposited('alice', '5'))
  .thenAnswers(new GetBalance('alice'), '15');

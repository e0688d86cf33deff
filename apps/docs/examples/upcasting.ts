// Upcasting on the memory event store: events stored in an old shape, under an old name, are read
// as the current class. Run by the docs build; it must print upcasting.output.txt.
import {
  AggregateRoot,
  DomainEvent,
  type EventInit,
  EventSourcedRepository,
  MessageRegistry,
  renameEvent,
  upcaster,
} from '@finaegis/core';
import { createMemoryEventStore } from '@finaegis/memory';

const store = createMemoryEventStore();

// #region history
// What an older version of the application stored: `bank.Deposit`, shape 1, no currency.
await store.append(
  'bank.Account-acc-1',
  [
    {
      eventId: 'e-1',
      type: 'bank.Deposit',
      data: { amount: '1000' },
      metadata: { aggregateId: 'acc-1', aggregateType: 'bank.Account' },
      occurredAt: Date.parse('2024-09-08T10:00:00Z'),
    },
  ],
  { expectedVersion: 'no_stream' },
);
// #endregion history

// #region current
// The current class: renamed, and shape 2 adds the currency.
class FundsDeposited extends DomainEvent {
  static readonly messageType = 'bank.FundsDeposited';
  static readonly schemaVersion = 2;
  constructor(
    readonly amount: string,
    readonly currency: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

const upcasters = [
  renameEvent('bank.Deposit', 'bank.FundsDeposited'), // keeps the data and its shape version (1)
  upcaster('bank.FundsDeposited', 1, (data) => ({ ...data, currency: 'USD' })), // 1 → 2
];
// #endregion current

class Account extends AggregateRoot {
  static override readonly aggregateType = 'bank.Account';
  readonly deposits: string[] = [];
  constructor(id: string) {
    super(id);
    this.on(FundsDeposited, (event) => void this.deposits.push(`${event.amount} ${event.currency}`));
  }
}

// #region load
const accounts = new EventSourcedRepository(Account, {
  store,
  registry: new MessageRegistry().register(FundsDeposited),
  upcasters,
});
const account = await accounts.load('acc-1');
console.log(`acc-1 at version ${account.version}: ${account.deposits.join(', ')}`);
// #endregion load

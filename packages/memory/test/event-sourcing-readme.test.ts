// The example of packages/core/EVENT-SOURCING.md, kept compiling and true.
import {
  AggregateRoot,
  createCqrs,
  DomainEvent,
  type EventInit,
  EventSourcedRepository,
  MessageRegistry,
  Projection,
  Projector,
  retryOnConcurrencyError,
  snapshotEvery,
} from '@finaegis/core';
import { createMemoryCheckpointStore, createMemoryEventStore } from '@finaegis/memory';

class FundsDeposited extends DomainEvent {
  static readonly messageType = 'bank.FundsDeposited';
  constructor(
    readonly amount: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

class Account extends AggregateRoot<{ balance: string }> {
  static override readonly aggregateType = 'bank.Account';
  balance = 0n; // cents: money is never a float
  constructor(id: string) {
    super(id);
    this.on(FundsDeposited, (event) => {
      this.balance += BigInt(event.amount);
    });
  }
  deposit(cents: string) {
    this.raise(new FundsDeposited(cents));
  }
  override snapshot() {
    return { balance: this.balance.toString() };
  }
  override restore(state: { balance: string }) {
    this.balance = BigInt(state.balance);
  }
}

import { expect, test } from 'vitest';

test('the EVENT-SOURCING.md example works as its comments say', async () => {
  const app = createCqrs();
  const registry = new MessageRegistry().register(FundsDeposited);
  const store = createMemoryEventStore();
  const accounts = new EventSourcedRepository(Account, {
    store,
    registry,
    bus: app.eventBus,
    snapshotPolicy: snapshotEvery(100),
  });

  const account = accounts.create('acc-1');
  account.deposit('1000');
  await accounts.save(account); // stream "bank.Account-acc-1", expected version 0

  await retryOnConcurrencyError(
    async () => {
      const loaded = await accounts.load('acc-1');
      loaded.deposit('250');
      await accounts.save(loaded); // ConcurrencyError if someone saved in between → runs again
    },
    { attempts: 5 },
  );

  const balances = new Map<string, bigint>();
  const projector = new Projector(
    new Projection('balances')
      .on(FundsDeposited, (event) => {
        balances.set(event.aggregateId, (balances.get(event.aggregateId) ?? 0n) + BigInt(event.amount));
      })
      .onReset(() => balances.clear()),
    { store, registry, checkpoints: createMemoryCheckpointStore() },
  );
  await projector.catchUp(); // balances: acc-1 → 1250n; await projector.lag() → 0
  expect(balances.get('acc-1')).toBe(1250n);
  expect(await projector.lag()).toBe(0);
  expect((await accounts.load('acc-1')).version).toBe(2);
  await app.close();
});

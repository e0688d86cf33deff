// Event sourcing on the memory adapters: an aggregate, a repository with snapshots and optimistic
// concurrency, and a projection with a checkpoint. Run by the docs build; it must print
// event-sourcing.output.txt.
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
  silentLogger,
  snapshotEvery,
} from '@finaegis/core';
import { createMemoryCheckpointStore, createMemoryEventStore } from '@finaegis/memory';

class FundsDeposited extends DomainEvent {
  static readonly messageType = 'bank.FundsDeposited';
  constructor(
    readonly amount: string, // cents, as a decimal string
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

  deposit(cents: string): void {
    this.raise(new FundsDeposited(cents));
  }

  override snapshot() {
    return { balance: this.balance.toString() };
  }

  override restore(state: { balance: string }) {
    this.balance = BigInt(state.balance);
  }
}

const app = createCqrs({ logger: silentLogger });
const registry = new MessageRegistry().register(FundsDeposited);
const store = createMemoryEventStore();
const accounts = new EventSourcedRepository(Account, {
  store,
  registry,
  bus: app.eventBus, // saved events are published (recorded, inside a unit of work)
  snapshotPolicy: snapshotEvery(100),
});

const account = accounts.create('acc-1');
account.deposit('1000');
await accounts.save(account); // stream "bank.Account-acc-1", expected version 0

await retryOnConcurrencyError(
  async () => {
    const loaded = await accounts.load('acc-1');
    loaded.deposit('250');
    await accounts.save(loaded); // ConcurrencyError if someone saved in between: runs again
  },
  { attempts: 5 },
);
console.log(`acc-1 is at version ${(await accounts.load('acc-1')).version}`);

const balances = new Map<string, bigint>();
const projector = new Projector(
  new Projection('balances')
    .on(FundsDeposited, (event) => {
      balances.set(event.aggregateId, (balances.get(event.aggregateId) ?? 0n) + BigInt(event.amount));
    })
    .onReset(() => balances.clear()),
  { store, registry, checkpoints: createMemoryCheckpointStore() },
);
const { applied } = await projector.catchUp();
console.log(
  `projected ${applied} events: acc-1 has ${balances.get('acc-1')} cents, lag ${await projector.lag()}`,
);
await app.close();

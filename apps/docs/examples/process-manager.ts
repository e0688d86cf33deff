// A process manager of @finaegis/core: an order that asks a wallet to reserve its funds, is
// confirmed when the reservation comes back and cancelled when it does not come in time. Runs on the
// memory adapters in the docs build and must print process-manager.output.txt.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Command,
  createCqrs,
  createProcessManager,
  DomainEvent,
  defineProcess,
  silentLogger,
} from '@finaegis/core';
import {
  createMemoryProcessStore,
  createMemoryTransactionManager,
  createMemoryTransport,
} from '@finaegis/memory';

// #region messages
class OrderPlaced extends DomainEvent {
  static readonly messageType = 'exchange.OrderPlaced';
  constructor(
    readonly orderId: string,
    readonly amount: string, // whole units here; money is never a float
  ) {
    super({ aggregateId: orderId, aggregateType: 'Order' });
  }
}
class FundsReserved extends DomainEvent {
  static readonly messageType = 'wallet.FundsReserved';
  constructor(readonly orderId: string) {
    super({ aggregateId: orderId, aggregateType: 'Order' });
  }
}
class ReserveFunds extends Command {
  static readonly messageType = 'wallet.ReserveFunds';
  constructor(
    readonly orderId: string,
    readonly amount: string,
  ) {
    super();
  }
}
class ConfirmOrder extends Command {
  static readonly messageType = 'exchange.ConfirmOrder';
  constructor(readonly orderId: string) {
    super();
  }
}
class CancelOrder extends Command {
  static readonly messageType = 'exchange.CancelOrder';
  constructor(readonly orderId: string) {
    super();
  }
}
// #endregion messages

// #region definition
interface OrderPayment {
  readonly orderId: string;
  readonly amount: string;
  readonly stage: 'awaiting-funds' | 'confirmed' | 'cancelled';
}

// State `OrderPayment`, one timeout called 'funds'. The type name is stored with every process.
const orderPayment = defineProcess<OrderPayment, 'funds'>('exchange.OrderPayment')
  .startedBy(
    OrderPlaced,
    (event) => event.orderId, // the correlation: one process per order
    (event, step) => {
      step.send(new ReserveFunds(event.orderId, event.amount)); // sent when the step commits
      step.schedule('funds', 0.5); // seconds; the wallet must answer before
      return { orderId: event.orderId, amount: event.amount, stage: 'awaiting-funds' };
    },
  )
  .on(
    FundsReserved,
    (event) => event.orderId,
    (state, _event, step) => {
      step.cancel('funds');
      step.send(new ConfirmOrder(state.orderId));
      step.complete();
      return { ...state, stage: 'confirmed' };
    },
  )
  .onTimeout('funds', (state, step) => {
    step.send(new CancelOrder(state.orderId));
    step.complete();
    return { ...state, stage: 'cancelled' };
  });
// #endregion definition

// #region run
const app = createCqrs({
  transport: createMemoryTransport(), // delays the timeouts; on Kafka give a `scheduler`
  transactionManager: createMemoryTransactionManager(), // each step is one transaction
  logger: silentLogger,
});
const processes = createProcessManager(app, {
  store: createMemoryProcessStore(), // joins the memory manager's transactions
  processes: [orderPayment],
});

// The other services, reduced to what the process needs: the wallet reserves up to 100.
app.commandBus.register(ReserveFunds, async (command) => {
  if (BigInt(command.amount) <= 100n) await app.eventBus.publishAsync(new FundsReserved(command.orderId));
});
app.commandBus.register(ConfirmOrder, () => {});
app.commandBus.register(CancelOrder, () => {});
await app.startWorker(); // runs the commands, the async events and the timeouts

await app.eventBus.publish(new OrderPlaced('o-1', '50'));
const big = new OrderPlaced('o-2', '5000');
await app.eventBus.publish(big);
await app.eventBus.publish(big); // the same message again (a redelivery): recognised by its id
// #endregion run

// Wait (at most 5 s) until both processes have ended.
for (let i = 0; i < 500 && (await processes.counts(orderPayment)).running > 0; i++) await sleep(10);

// #region inspect
for (const id of ['o-1', 'o-2']) {
  const process = await processes.get(orderPayment, id); // typed: ProcessDetails<OrderPayment>
  const history = process?.history.map((entry) => entry.kind).join(' → ');
  console.log(`${id}: ${process?.status}, ${process?.state?.stage} (${history})`);
}
console.log(`counts: ${JSON.stringify(await processes.counts(orderPayment))}`);
console.log(`ignored as duplicates: ${processes.stats().ignored.duplicate}`);
// #endregion inspect
await processes.close();
await app.close();

// A process manager built from the buses: it reacts to events, keeps the state of each process,
// sends the next command, and times out through a delayed command. Runs on the memory adapters in
// the docs build and must print process-manager.output.txt.
import { Command, createCqrs, DomainEvent, silentLogger } from '@finaegis/core';
import { createMemoryTransport } from '@finaegis/memory';

// #region messages
class OrderPlaced extends DomainEvent {
  static readonly messageType = 'exchange.OrderPlaced';
  constructor(
    readonly orderId: string,
    readonly amount: string,
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
class ReserveFunds extends Command<void> {
  static readonly messageType = 'wallet.ReserveFunds';
  constructor(
    readonly orderId: string,
    readonly amount: string,
  ) {
    super();
  }
}
class ConfirmOrder extends Command<void> {
  static readonly messageType = 'exchange.ConfirmOrder';
  constructor(readonly orderId: string) {
    super();
  }
}
class PaymentDeadline extends Command<void> {
  static readonly messageType = 'exchange.PaymentDeadline';
  constructor(readonly orderId: string) {
    super();
  }
}
// #endregion messages

const app = createCqrs({ transport: createMemoryTransport(), logger: silentLogger });
const outcome = new Map<string, string>();
const finished = new Map<string, () => void>();
const done = (orderId: string, result: string) => {
  outcome.set(orderId, result);
  finished.get(orderId)?.();
};

// The other services, reduced to what the process needs: the wallet reserves what it can.
app.commandBus.register(ReserveFunds, async (command) => {
  if (Number(command.amount) <= 100) await app.eventBus.publishAsync(new FundsReserved(command.orderId));
});
app.commandBus.register(ConfirmOrder, (command) => done(command.orderId, 'confirmed'));

// #region process-manager
type Step = 'awaiting-funds' | 'confirmed' | 'cancelled';
/** The state of each running process, by order id. In production: a table, written in the
 * transaction that sends the next command (app.transaction + the outbox). */
const processes = new Map<string, Step>();

// Started by an event: remember the process, send the first command and arm the deadline.
app.eventBus.subscribe(OrderPlaced, async (event) => {
  if (processes.has(event.orderId)) return; // a redelivery: already started
  processes.set(event.orderId, 'awaiting-funds');
  await app.commandBus.dispatchAsync(new ReserveFunds(event.orderId, event.amount));
  // A timeout is a delayed command (the transport must declare `delay`: memory and BullMQ do).
  await app.commandBus.dispatchAsync(new PaymentDeadline(event.orderId), { delay: 0.2 });
});

// Moved on by the next event, only from the step that expects it (so redeliveries do nothing).
app.eventBus.subscribe(FundsReserved, async (event) => {
  if (processes.get(event.orderId) !== 'awaiting-funds') return;
  processes.set(event.orderId, 'confirmed');
  await app.commandBus.dispatchAsync(new ConfirmOrder(event.orderId));
});

// The deadline ends the process unless it moved on meanwhile.
app.commandBus.register(PaymentDeadline, (command) => {
  if (processes.get(command.orderId) !== 'awaiting-funds') return;
  processes.set(command.orderId, 'cancelled');
  done(command.orderId, 'cancelled: no funds before the deadline');
});
// #endregion process-manager

await app.startWorker();
const waits = ['o-1', 'o-2'].map((id) => new Promise<void>((resolve) => finished.set(id, resolve)));
await app.eventBus.publishAsync(new OrderPlaced('o-1', '50'));
await app.eventBus.publishAsync(new OrderPlaced('o-2', '5000'));
await Promise.all(waits);
for (const id of ['o-1', 'o-2']) console.log(`${id}: ${outcome.get(id)}`);
await app.close();

import { Command, DomainEvent, defineProcess } from '@finaegis/core';
import { like, processSpec, timePasses } from '@finaegis/testing';
import { expect } from 'vitest';

class PaymentRequested extends DomainEvent {
  static readonly messageType = 'shop.PaymentRequested';
  constructor(
    readonly orderId: string,
    readonly amount: string,
  ) {
    super({ aggregateId: orderId });
  }
}
class PaymentConfirmed extends DomainEvent {
  static readonly messageType = 'shop.PaymentConfirmed';
  constructor(
    readonly orderId: string,
    readonly amount: string,
  ) {
    super({ aggregateId: orderId });
  }
}
class ChargeCard extends Command {
  static readonly messageType = 'shop.ChargeCard';
  constructor(
    readonly orderId: string,
    readonly amount: string,
  ) {
    super();
  }
}
class CancelOrder extends Command {
  static readonly messageType = 'shop.CancelOrder';
  constructor(readonly orderId: string) {
    super();
  }
}

interface Payment {
  orderId: string;
  amount: string;
  stage: 'charging' | 'paid' | 'cancelled';
}

const payment = defineProcess<Payment, 'charge'>('shop.Payment')
  .startedBy(
    PaymentRequested,
    (e) => e.orderId,
    (e, step) => {
      step.send(new ChargeCard(e.orderId, e.amount));
      step.schedule('charge', 30);
      return { orderId: e.orderId, amount: e.amount, stage: 'charging' };
    },
  )
  .on(
    PaymentConfirmed,
    (e) => e.orderId,
    (state, e, step) => {
      if (e.amount !== state.amount) throw new RangeError(`paid ${e.amount}, expected ${state.amount}`);
      step.cancel('charge');
      step.complete();
      return { ...state, stage: 'paid' };
    },
  )
  .onTimeout('charge', (state, step) => {
    step.send(new CancelOrder(state.orderId));
    step.complete();
    return { ...state, stage: 'cancelled' };
  });

const payments = processSpec(payment, { commands: [ChargeCard, CancelOrder] });
const requested = payments.given(new PaymentRequested('o-1', '25.00'));

// Given a payment requested, when 30 s pass without a confirmation, then the order is cancelled.
await requested
  .when(timePasses(30_000))
  .thenCommands(like(CancelOrder, { orderId: 'o-1' }))
  .thenStatus('completed')
  .thenState({ stage: 'cancelled' });

// A confirmation in time completes it; the timeout still arrives at 30 s and is ignored.
const paid = await requested
  .when(timePasses(10_000), new PaymentConfirmed('o-1', '25.00'), timePasses(30_000))
  .thenNoCommands()
  .thenStatus('completed')
  .thenState({ stage: 'paid' });
expect(paid.processes.stats().ignored.ended).toBe(1);

// A step that throws leaves the process failed, its timeout still armed.
await requested
  .when(new PaymentConfirmed('o-1', '24.00'))
  .thenFailed(RangeError, 'paid 24.00, expected 25.00')
  .thenArmed({ charge: 30_000 });

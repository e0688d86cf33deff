// The example of packages/core/PROCESS-MANAGERS.md: the text between the markers is in that file
// verbatim, and it does what the file says.
// --- example start ---
import { Command, createCqrs, createProcessManager, DomainEvent, defineProcess } from '@finaegis/core';
import {
  createMemoryProcessStore,
  createMemoryTransactionManager,
  createMemoryTransport,
} from '@finaegis/memory';

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
  constructor(readonly orderId: string) {
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
  amount: string; // decimal string: money is never a float
  stage: 'charging' | 'paid' | 'cancelled';
}

const payment = defineProcess<Payment, 'charge'>('shop.Payment')
  .startedBy(
    PaymentRequested,
    (e) => e.orderId,
    (e, step) => {
      step.send(new ChargeCard(e.orderId, e.amount));
      step.schedule('charge', 30); // seconds; then the onTimeout handler runs
      return { orderId: e.orderId, amount: e.amount, stage: 'charging' };
    },
  )
  .on(
    PaymentConfirmed,
    (e) => e.orderId,
    (state, _event, step) => {
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

const app = createCqrs({
  transport: createMemoryTransport(),
  transactionManager: createMemoryTransactionManager(),
});
const processes = createProcessManager(app, { store: createMemoryProcessStore(), processes: [payment] });
app.commandBus.register(ChargeCard, async (cmd) => {
  await app.eventBus.publishAsync(new PaymentConfirmed(cmd.orderId));
});
app.commandBus.register(CancelOrder, () => {});
const worker = await app.startWorker();

await app.eventBus.publish(new PaymentRequested('o-1', '25.00'));
// The worker charges the card, the confirmation comes back, and the process ends `paid`.
// Its status, typed state and history: ProcessDetails<Payment> | undefined
const current = await processes.get(payment, 'o-1');

// --- example end ---

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { until } from './helpers';

afterAll(async () => {
  await worker.close();
  await app.close();
});

test('PROCESS-MANAGERS.md shows this example verbatim', () => {
  const source = readFileSync(resolve(import.meta.dirname, 'process-readme.test.ts'), 'utf8');
  const example = source.split('// --- example start ---\n')[1]!.split('// --- example end ---')[0]!;
  const doc = readFileSync(resolve(import.meta.dirname, '../../core/PROCESS-MANAGERS.md'), 'utf8');
  expect(doc).toContain(example.trim());
});

test('the example ends its payment as paid', async () => {
  expect(current?.processId).toBe('o-1');
  await until(
    async () => (await processes.get(payment, 'o-1'))?.status === 'completed',
    'the payment to end',
  );
  const ended = await processes.get(payment, 'o-1');
  expect(ended?.state?.stage).toBe('paid');
  expect(ended?.timeouts).toEqual({});
  expect(ended?.history.map((entry) => entry.kind)).toEqual(['started', 'handled']);
});

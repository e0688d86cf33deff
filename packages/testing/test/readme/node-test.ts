import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command, DomainEvent } from '@finaegis/core';
import { assertPublished, createTestApp } from '@finaegis/testing';

class Ship extends Command {
  static readonly messageType = 'shop.Ship';
  constructor(readonly orderId: string) {
    super();
  }
}
class Shipped extends DomainEvent {
  static readonly messageType = 'shop.Shipped';
  constructor(readonly orderId: string) {
    super();
  }
}

test('a failed shipment is retried after its backoff', async () => {
  const app = await createTestApp({
    worker: { retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 5_000 } } },
  });
  let calls = 0;
  app.commandBus.register(Ship, async (command) => {
    if (++calls === 1) throw new Error('carrier down');
    await app.eventBus.publish(new Shipped(command.orderId));
  });
  await app.commandBus.dispatchAsync(new Ship('o-1'));
  await app.idle();
  assertPublished(app, Shipped, {}, { times: 0 });
  await app.advance(5_000);
  assertPublished(app, Shipped, { orderId: 'o-1' });
  assert.deepEqual(
    app.handled.map((h) => h.outcome),
    ['retry', 'ack'],
  );
  await app.close();
});

// "From the guide", Testing: the guide mocks the bus; here the test kit (@finaegis/testing) runs the
// real buses on the memory adapters, so a test exercises the handler, the validation and the
// subscribers as production does, and asserts on what was dispatched and published.
// `pnpm test` runs this file (apps/docs/vitest.config.ts includes examples/**/*.test.ts).
import { type FinaegisMatchers, finaegisMatchers } from '@finaegis/testing';
import { expect } from 'vitest';

// Once per test run, usually in a vitest setup file (see the testing recipe).
expect.extend(finaegisMatchers);
declare module 'vitest' {
  interface Assertion<T> extends FinaegisMatchers<void> {}
}

// #region testing-commands
import { createTestApp } from '@finaegis/testing';
import { test } from 'vitest';
import { OrderPlaced, OrderService, PlaceOrderCommand, PlaceOrderHandler } from './guide-messages';

test('place order command', async () => {
  const app = await createTestApp(); // the real buses on the memory adapters, a worker, a test clock
  app.commandBus.register(PlaceOrderCommand, new PlaceOrderHandler(new OrderService()));

  const result = await app.commandBus.dispatch(
    new PlaceOrderCommand('user-1', 'market', 'buy', '0.1', 'BTC/USD'),
  );

  expect(result).toMatchObject({ id: 'order-1', userId: 'user-1', pair: 'BTC/USD' });
  expect(app).toHaveDispatched(PlaceOrderCommand, { userId: 'user-1', pair: 'BTC/USD' }, { times: 1 });
  await app.close();
});
// #endregion testing-commands

// #region testing-events
test('event publishing', async () => {
  const app = await createTestApp();
  const handled: string[] = [];
  app.eventBus.subscribe(OrderPlaced, (event) => {
    handled.push(event.orderId);
  });

  await app.eventBus.publish(new OrderPlaced('order-123', 'user-1', {}, { occurredAt: new Date() }));

  expect(handled).toEqual(['order-123']);
  expect(app).toHavePublished(OrderPlaced, { orderId: 'order-123' });

  // Async, in 10 seconds: a worker's subscribers run it when the test clock gets there; no sleeping.
  await app.eventBus.publishAsync(new OrderPlaced('order-124', 'user-1', {}), { delay: 10 });
  await app.idle();
  expect(app).toHaveSent(OrderPlaced, { orderId: 'order-124' }, { channel: 'events', delayMs: 10_000 });
  expect(handled).toEqual(['order-123']);
  await app.advance(10_000);
  expect(handled).toEqual(['order-123', 'order-124']);
  await app.close();
});
// #endregion testing-events

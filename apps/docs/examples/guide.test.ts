// "From the guide", Testing: the guide mocks the bus; here the real buses run on the memory
// adapters, so a test exercises the handler, the validation and the subscribers as production does.
// `pnpm test` runs this file (apps/docs/vitest.config.ts includes examples/**/*.test.ts).
// #region testing-commands
import { createCqrs, silentLogger } from '@finaegis/core';
import { expect, test } from 'vitest';
import { OrderPlaced, OrderService, PlaceOrderCommand, PlaceOrderHandler } from './guide-messages';

test('place order command', async () => {
  const app = createCqrs({ logger: silentLogger });
  app.commandBus.register(PlaceOrderCommand, new PlaceOrderHandler(new OrderService()));

  const result = await app.commandBus.dispatch(
    new PlaceOrderCommand('user-1', 'market', 'buy', '0.1', 'BTC/USD'),
  );

  expect(result).toMatchObject({ id: 'order-1', userId: 'user-1', pair: 'BTC/USD' });
});
// #endregion testing-commands

// #region testing-events
test('event publishing', async () => {
  const app = createCqrs({ logger: silentLogger });
  let handled = false;
  app.eventBus.subscribe(OrderPlaced, () => {
    handled = true;
  });

  await app.eventBus.publish(new OrderPlaced('order-123', 'user-1', {}, { occurredAt: new Date() }));

  expect(handled).toBe(true);
});
// #endregion testing-events

import { Command, DomainEvent, Query } from '@finaegis/core';
import { createTestApp, finaegisMatchers } from '@finaegis/testing';
import { expect } from 'vitest';

class PlaceOrder extends Command<string> {
  static readonly messageType = 'exchange.PlaceOrder';
  constructor(readonly pair: string) {
    super();
  }
}
class OrderPlaced extends DomainEvent {
  static readonly messageType = 'exchange.OrderPlaced';
  constructor(readonly pair: string) {
    super();
  }
}
class GetOrderBook extends Query<{ pair: string; orders: number }> {
  static readonly messageType = 'exchange.GetOrderBook';
  constructor(readonly pair: string) {
    super();
  }
}

expect.extend(finaegisMatchers);
const app = await createTestApp();
let orders = 0;
app.commandBus.register(PlaceOrder, async (command) => {
  await app.eventBus.publishAsync(new OrderPlaced(command.pair));
  return command.pair;
});
app.eventBus.subscribe(OrderPlaced, () => void orders++);
app.queryBus.register(GetOrderBook, (query) => ({ pair: query.pair, orders }));

// A delayed command: nothing happens until the clock gets there, and no test sleeps.
await app.commandBus.dispatchAsync(new PlaceOrder('BTC/USD'), { delay: 30 });
await app.idle();
expect(app).not.toHavePublished(OrderPlaced);
await app.advance(30_000);
expect(app).toHavePublished(OrderPlaced, { pair: 'BTC/USD' });
expect(app).toHaveSent(PlaceOrder, { pair: 'BTC/USD' }, { delayMs: 30_000 });

// A cached answer lives for its TTL on the same clock.
await app.queryBus.askCached(new GetOrderBook('BTC/USD'), { ttl: 60 });
expect(app).toHaveCached(GetOrderBook, { pair: 'BTC/USD' }, { value: { orders: 1 } });
await app.advance(60_000);
expect(app).not.toHaveCached(GetOrderBook, { pair: 'BTC/USD' });

await app.close();

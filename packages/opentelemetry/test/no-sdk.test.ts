// No SDK registered in this file (no tracer, meter or propagator): the instrumentation stays out.
import { createCqrs, silentLogger } from '@finaegis/core';
import { createMemoryTransport } from '@finaegis/memory';
import { otelInstrumentation } from '@finaegis/opentelemetry';
import { expect, test } from 'vitest';
import { OrderPlaced, PlaceOrder } from './domain';

test('without an SDK it installs no hooks, adds nothing to messages and changes no result', async () => {
  const instrumentation = otelInstrumentation();
  expect(instrumentation).toEqual({});
  const transport = createMemoryTransport();
  const app = createCqrs({ logger: silentLogger, transport, instrumentation });
  const seen: Array<Readonly<Record<string, string>>> = [];
  app.commandBus.register(PlaceOrder, (command) => command.orderId);
  app.eventBus.subscribe(OrderPlaced, () => undefined);
  expect(await app.commandBus.dispatch(new PlaceOrder('o-1'))).toBe('o-1');
  await transport.consume(
    'events',
    async (received) => {
      seen.push(received.headers);
    },
    { group: 'spy' },
  );
  await app.eventBus.publishAsync(new OrderPlaced('o-1'));
  while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(Object.keys(seen[0]!).sort()).toEqual(['content-type', 'message-kind']);
  await app.close();
});

import { type ConsumeContext, createCqrs, type SendContext, silentLogger } from '@finaegis/core';
import { expect, test } from 'vitest';
import { CancelOrderCommand, OrderPlaced } from './domain';
import { FakeTransactionManager, RecordingTransport } from './fakes';

test('send adds headers that travel with the message, around sends, holds and handling; consume wraps the worker', async () => {
  const transport = new RecordingTransport();
  const sends: SendContext[] = [];
  const consumed: ConsumeContext[] = [];
  const order: string[] = [];
  const app = createCqrs({
    logger: silentLogger,
    transport,
    transactionManager: new FakeTransactionManager(),
    instrumentation: {
      middleware: async (context, next) => {
        order.push(`mw:${context.operation}`);
        return next();
      },
      send: async (context, headers, leave) => {
        sends.push(context);
        headers.traceparent = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
        await leave();
      },
      consume: async (context, handle) => {
        consumed.push(context);
        order.push('consume');
        await handle();
      },
    },
  });
  app.commandBus.register(CancelOrderCommand, () => {
    order.push('handler');
    return true;
  });
  await app.commandBus.dispatchAsync(new CancelOrderCommand('a'));
  await app.transaction(async () => {
    await app.eventBus.publishAsync(new OrderPlaced('o1', 'u', { correlationId: 'corr-1' }));
  });
  expect(sends.map((s) => [s.channel, s.kind, s.via, s.messageType])).toEqual([
    ['commands', 'command', 'send', 'CancelOrderCommand'],
    ['events', 'event', 'hold', 'OrderPlaced'],
  ]);
  expect(sends[1]).toMatchObject({ key: 'o1', correlationId: 'corr-1' });
  for (const sent of transport.sent) expect(sent.message.headers.traceparent).toMatch(/^00-1{32}-2{16}-01$/);
  await app.startWorker({
    channels: ['commands'],
    retry: { attempts: 4, backoff: { type: 'fixed', delayMs: 1 } },
  });
  order.length = 0;
  await transport.deliverAll('commands');
  expect(consumed).toHaveLength(1);
  expect(consumed[0]).toMatchObject({
    channel: 'commands',
    group: 'workers',
    kind: 'command',
    maxAttempts: 4,
  });
  expect(consumed[0]!.received.headers.traceparent).toBeDefined();
  // The consume hook is outside the worker's pipeline, the instrumentation middleware outermost in it.
  expect(order).toEqual(['consume', 'mw:consume', 'mw:dispatch', 'handler']);
  await app.close();
});

import {
  CommandExecutionError,
  createCqrs,
  HandlerTimeoutError,
  loggingMiddleware,
  retryMiddleware,
  type TimingSample,
  timeoutMiddleware,
  timingMiddleware,
} from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { CancelOrderCommand, GetOrderBookQuery, OrderPlaced, PlaceOrderCommand } from './domain';
import { MapCache, memoryLogger, RecordingTransport } from './fakes';

describe('middleware', () => {
  test('logging writes the guide’s lines', async () => {
    const logger = memoryLogger();
    const app = createCqrs({
      logger,
      cache: new MapCache(),
      transport: new RecordingTransport(),
      middleware: [loggingMiddleware(logger)],
    });
    app.commandBus.register(PlaceOrderCommand, (c) => ({ id: '1', pair: c.pair, amount: c.amount }));
    app.queryBus.register(GetOrderBookQuery, () => null);
    await app.commandBus.dispatch(new PlaceOrderCommand('123', 'BTC/USD', '1'));
    await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'));
    await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'));
    await app.eventBus.publish(new OrderPlaced('o', '123'));
    await app.eventBus.publishAsync(new OrderPlaced('o', '123'));
    const lines = logger.lines.map((l) => {
      const { durationMs: _ignored, ...context } = l.context as Record<string, unknown>;
      return `${l.message} ${JSON.stringify(context)}`;
    });
    expect(lines).toEqual([
      'Command dispatched {"command":"PlaceOrderCommand","user":"123"}',
      'Query executed {"query":"GetOrderBookQuery","cached":false}',
      'Query executed {"query":"GetOrderBookQuery","cached":true}',
      'Event published {"event":"OrderPlaced","async":false}',
      'Event published {"event":"OrderPlaced","async":true}',
    ]);
  });

  test('logging reports failures at error level and rethrows', async () => {
    const logger = memoryLogger();
    const app = createCqrs({ logger, middleware: [loggingMiddleware(logger)] });
    app.commandBus.register(CancelOrderCommand, () => {
      throw new Error('nope');
    });
    await expect(app.commandBus.dispatch(new CancelOrderCommand('x'))).rejects.toBeInstanceOf(
      CommandExecutionError,
    );
    expect(logger.lines).toEqual([
      {
        level: 'error',
        message: 'Command failed',
        context: {
          command: 'CancelOrderCommand',
          operation: 'dispatch',
          error: 'CommandExecutionError: [@finaegis/core] CancelOrderCommand failed: nope',
        },
      },
    ]);
  });

  test('middleware run in order, outermost first, and can see results', async () => {
    const trail: string[] = [];
    const app = createCqrs({
      logger: memoryLogger(),
      middleware: [
        async (ctx, next) => {
          trail.push(`a>${ctx.operation}`);
          const result = await next();
          trail.push(`a<${String(result)}`);
          return result;
        },
        async (_ctx, next) => {
          trail.push('b>');
          return next();
        },
      ],
    });
    app.commandBus.register(CancelOrderCommand, () => true);
    await app.commandBus.dispatch(new CancelOrderCommand('x'));
    expect(trail).toEqual(['a>dispatch', 'b>', 'a<true']);
  });

  test('timing reports each operation', async () => {
    const samples: TimingSample[] = [];
    const app = createCqrs({
      logger: memoryLogger(),
      middleware: [timingMiddleware((s) => samples.push(s))],
    });
    app.commandBus.register(CancelOrderCommand, () => true);
    await app.commandBus.dispatch(new CancelOrderCommand('x'));
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({
      kind: 'command',
      operation: 'dispatch',
      messageType: 'CancelOrderCommand',
      ok: true,
    });
    expect(samples[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  test('retry re-runs a failing command handler up to the attempts', async () => {
    const app = createCqrs({
      logger: memoryLogger(),
      middleware: [retryMiddleware({ attempts: 3, backoff: { type: 'fixed', delayMs: 1 } })],
    });
    let calls = 0;
    app.commandBus.register(CancelOrderCommand, () => {
      calls += 1;
      if (calls < 3) throw new Error('flaky');
      return true;
    });
    expect(await app.commandBus.dispatch(new CancelOrderCommand('x'))).toBe(true);
    expect(calls).toBe(3);
    calls = -10;
    await expect(app.commandBus.dispatch(new CancelOrderCommand('x'))).rejects.toBeInstanceOf(
      CommandExecutionError,
    );
    expect(calls).toBe(-7);
  });

  test('timeout fails a slow handler with HandlerTimeoutError', async () => {
    const app = createCqrs({ logger: memoryLogger(), middleware: [timeoutMiddleware(20)] });
    app.commandBus.register(
      CancelOrderCommand,
      () => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 200)),
    );
    await expect(app.commandBus.dispatch(new CancelOrderCommand('x'))).rejects.toBeInstanceOf(
      HandlerTimeoutError,
    );
  });
});

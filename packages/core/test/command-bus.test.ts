import {
  Command,
  CommandExecutionError,
  CommandValidationError,
  createCqrs,
  defineConfig,
  HandlerAlreadyRegisteredError,
  HandlerNotFoundError,
  lazy,
  silentLogger,
  UnknownMessageTypeError,
  UnsupportedFeatureError,
} from '@finaegis/core';
import { describe, expect, expectTypeOf, test } from 'vitest';
import { CancelOrderCommand, type Order, PlaceOrderCommand } from './domain';
import { RecordingTransport } from './fakes';

const app = (options: Parameters<typeof createCqrs>[0] = {}) =>
  createCqrs({ logger: silentLogger, ...options });

describe('CommandBus.dispatch', () => {
  test('runs the one handler and returns its typed result', async () => {
    const { commandBus } = app();
    commandBus.register(PlaceOrderCommand, (cmd) => ({ id: 'o-1', pair: cmd.pair, amount: cmd.amount }));
    const order = await commandBus.dispatch(new PlaceOrderCommand('u-1', 'BTC/USD', '0.1'));
    expectTypeOf(order).toEqualTypeOf<Order>();
    expect(order).toEqual({ id: 'o-1', pair: 'BTC/USD', amount: '0.1' });
  });

  test('accepts handler objects and lazy factories (built once, on first use)', async () => {
    const { commandBus } = app();
    let built = 0;
    commandBus.register(
      CancelOrderCommand,
      lazy(() => {
        built += 1;
        return { handle: (cmd: CancelOrderCommand) => cmd.orderId === 'o-1' };
      }),
    );
    expect(built).toBe(0);
    expect(await commandBus.dispatch(new CancelOrderCommand('o-1'))).toBe(true);
    expect(await commandBus.dispatch(new CancelOrderCommand('o-2'))).toBe(false);
    expect(built).toBe(1);
  });

  test('no handler → HandlerNotFoundError naming the command', async () => {
    const { commandBus } = app();
    const error = await commandBus.dispatch(new CancelOrderCommand('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandlerNotFoundError);
    expect((error as Error).message).toContain('CancelOrderCommand');
  });

  test('a second handler for the same command is refused unless replace is asked for', async () => {
    const { commandBus } = app();
    commandBus.register(CancelOrderCommand, () => true);
    expect(() => commandBus.register(CancelOrderCommand, () => false)).toThrow(HandlerAlreadyRegisteredError);
    commandBus.register(CancelOrderCommand, () => false, { replace: true });
    expect(await commandBus.dispatch(new CancelOrderCommand('x'))).toBe(false);
  });

  test('invalid fields → CommandValidationError with the failing fields, handler not run', async () => {
    const { commandBus } = app();
    let ran = false;
    commandBus.register(PlaceOrderCommand, () => {
      ran = true;
      return { id: '', pair: '', amount: '' };
    });
    const error = await commandBus
      .dispatch(new PlaceOrderCommand('u', 'BTCUSD', '-1'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandValidationError);
    expect((error as CommandValidationError).fields).toEqual({
      pair: ['must look like BTC/USD'],
      amount: ['must be a positive decimal string'],
    });
    expect(ran).toBe(false);
  });

  test('a Standard Schema on the class validates too', async () => {
    class Deposit extends Command<void> {
      static readonly messageType = 'Deposit';
      static readonly schema = {
        '~standard': {
          version: 1 as const,
          validate: (value: unknown) => {
            const v = value as { amount: string };
            return /^\d+$/.test(v.amount)
              ? { value }
              : { issues: [{ message: 'digits only', path: ['amount'] }] };
          },
        },
      };
      constructor(readonly amount: string) {
        super();
      }
    }
    const { commandBus } = app();
    commandBus.register(Deposit, () => undefined);
    await expect(commandBus.dispatch(new Deposit('12'))).resolves.toBeUndefined();
    const error = (await commandBus
      .dispatch(new Deposit('1.5'))
      .catch((e: unknown) => e)) as CommandValidationError;
    expect(error).toBeInstanceOf(CommandValidationError);
    expect(error.fields).toEqual({ amount: ['digits only'] });
  });

  test('handler errors (thrown or rejected) become CommandExecutionError with the original as cause', async () => {
    const { commandBus } = app();
    const boom = new Error('boom');
    commandBus.register(CancelOrderCommand, (cmd) => {
      if (cmd.orderId === 'sync') throw boom;
      return Promise.reject(boom);
    });
    for (const id of ['sync', 'async']) {
      const error = await commandBus.dispatch(new CancelOrderCommand(id)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommandExecutionError);
      expect((error as Error).cause).toBe(boom);
      expect((error as Error).message).toBe('[@finaegis/core] CancelOrderCommand failed: boom');
    }
  });

  test('a class without a wire name is refused at registration', () => {
    class Nameless extends Command<void> {}
    const { commandBus } = app();
    expect(() => commandBus.register(Nameless, () => undefined)).toThrow(UnknownMessageTypeError);
  });

  test('handlers disabled (demo mode): registering does nothing and dispatch says why', async () => {
    const { commandBus } = app({ config: defineConfig({ enableHandlers: false }) });
    commandBus.register(CancelOrderCommand, () => true);
    expect(commandBus.has(CancelOrderCommand)).toBe(false);
    const error = await commandBus.dispatch(new CancelOrderCommand('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandlerNotFoundError);
    expect((error as Error).message).toMatch(/handlers are disabled/);
  });
});

describe('CommandBus.dispatchAsync', () => {
  test('validates at the call and sends the envelope to the configured commands channel', async () => {
    const transport = new RecordingTransport();
    const { commandBus } = app({ transport, config: defineConfig({ commandBus: { asyncQueue: 'cmds' } }) });
    await expect(commandBus.dispatchAsync(new PlaceOrderCommand('u', 'bad', '1'))).rejects.toBeInstanceOf(
      CommandValidationError,
    );
    expect(transport.sent).toHaveLength(0);
    const command = new PlaceOrderCommand('u-1', 'BTC/USD', '0.5');
    const id = await commandBus.dispatchAsync(command, { delay: 60 });
    expect(id).toBe(command.messageId);
    expect(transport.sent).toHaveLength(1);
    const [sent] = transport.sent;
    expect(sent?.channel).toBe('cmds');
    expect(sent?.options).toEqual({ delayMs: 60_000 });
    expect(sent?.message.type).toBe('PlaceOrderCommand');
    expect(JSON.parse(sent!.message.body).payload).toEqual({ userId: 'u-1', pair: 'BTC/USD', amount: '0.5' });
  });

  test('a feature the transport lacks is refused, never silently ignored', async () => {
    const transport = new RecordingTransport();
    const { commandBus } = app({ transport });
    await expect(
      commandBus.dispatchAsync(new CancelOrderCommand('x'), { priority: 5 }),
    ).rejects.toBeInstanceOf(UnsupportedFeatureError);
    expect(transport.sent).toHaveLength(0);
  });

  test('the worker rebuilds the command and runs the same handler', async () => {
    const transport = new RecordingTransport();
    const producer = app({ transport });
    const consumer = app({ transport });
    const seen: string[] = [];
    consumer.commandBus.register(CancelOrderCommand, (cmd) => {
      seen.push(cmd.orderId);
      return true;
    });
    await consumer.startWorker({ channels: ['commands'] });
    producer.registry.register(CancelOrderCommand);
    await producer.commandBus.dispatchAsync(new CancelOrderCommand('o-9'));
    expect(await transport.deliverAll('commands')).toEqual([]);
    expect(seen).toEqual(['o-9']);
  });

  test('the worker refuses unknown message types without retrying them', async () => {
    const transport = new RecordingTransport();
    const producer = app({ transport });
    const consumer = app({ transport });
    await consumer.startWorker({ channels: ['commands'] });
    await producer.commandBus.dispatchAsync(new CancelOrderCommand('o-1'));
    const [error] = await transport.deliverAll('commands');
    expect(error).toBeInstanceOf(UnknownMessageTypeError);
    expect((error as UnknownMessageTypeError).retryable).toBe(false);
  });
});

import {
  CommandExecutionError,
  ConfigError,
  createCqrs,
  currentTransaction,
  silentLogger,
  TransactionTimeoutError,
  type TransportMessage,
  UnitOfWorkError,
} from '@finaegis/core';
import { describe, expect, expectTypeOf, test } from 'vitest';
import { CancelOrderCommand, type Order, OrderPlaced, PlaceOrderCommand } from './domain';
import { FakeTransactionManager, RecordingTransport } from './fakes';

function setup() {
  const transport = new RecordingTransport();
  const transactionManager = new FakeTransactionManager();
  const app = createCqrs({ logger: silentLogger, transport, transactionManager });
  const published: string[] = [];
  app.eventBus.subscribe(OrderPlaced, (e) => void published.push(e.orderId));
  app.commandBus.register(PlaceOrderCommand, async (cmd) => {
    const order = { id: `o-${cmd.userId}`, pair: cmd.pair, amount: cmd.amount };
    app.eventBus.record(new OrderPlaced(order.id, cmd.userId));
    await app.commandBus.dispatchAsync(new CancelOrderCommand(`later-${order.id}`));
    await app.eventBus.publishAsync(new OrderPlaced(order.id, cmd.userId));
    return order;
  });
  app.commandBus.register(CancelOrderCommand, (cmd) => {
    if (cmd.orderId === 'fail') throw new Error('cannot cancel');
    return true;
  });
  return { app, transport, transactionManager, published };
}

describe('dispatchTransaction', () => {
  test('runs in order, returns typed results in order; events and async sends leave after commit', async () => {
    const { app, transport, transactionManager, published } = setup();
    const seenInside: string[] = [];
    app.eventBus.subscribe(OrderPlaced, () => void seenInside.push(String(transport.sent.length)));
    const results = await app.commandBus.dispatchTransaction([
      new PlaceOrderCommand('u1', 'BTC/USD', '1'),
      new CancelOrderCommand('o-x'),
    ]);
    expectTypeOf(results).toEqualTypeOf<[Order, boolean]>();
    expect(results).toEqual([{ id: 'o-u1', pair: 'BTC/USD', amount: '1' }, true]);
    expect(transactionManager.commits).toBe(1);
    expect(published).toEqual(['o-u1']);
    // Both async sends (a command and an event) were sent before local subscribers ran.
    expect(transport.sent.map((s) => [s.channel, s.message.type])).toEqual([
      ['commands', 'CancelOrderCommand'],
      ['events', 'OrderPlaced'],
    ]);
    expect(seenInside).toEqual(['2']);
  });

  test('a failing command rolls back: nothing recorded is published and nothing is sent', async () => {
    const { app, transport, transactionManager, published } = setup();
    const error = await app.commandBus
      .dispatchTransaction([new PlaceOrderCommand('u1', 'BTC/USD', '1'), new CancelOrderCommand('fail')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandExecutionError);
    expect(transactionManager.rollbacks).toBe(1);
    expect(published).toEqual([]);
    expect(transport.sent).toEqual([]);
  });

  test('publish inside a transaction waits for the commit', async () => {
    const { app, published } = setup();
    await app.transaction(async () => {
      await app.eventBus.publish(new OrderPlaced('inside', 'u'));
      expect(published).toEqual([]);
    });
    expect(published).toEqual(['inside']);
  });

  test('a timeout rolls back with TransactionTimeoutError; late work cannot send anything', async () => {
    const { app, transport, published } = setup();
    let lateError: unknown;
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const error = await app
      .transaction(
        async (tx) => {
          app.eventBus.record(new OrderPlaced('before-timeout', 'u'));
          await new Promise((resolve) => setTimeout(resolve, 100));
          expect(tx.signal.aborted).toBe(true);
          try {
            await app.commandBus.dispatchAsync(new CancelOrderCommand('too-late'));
          } catch (e) {
            lateError = e;
          }
          resume();
        },
        { timeout: 0.02 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    await resumed;
    expect(lateError).toBeInstanceOf(UnitOfWorkError);
    expect(published).toEqual([]);
    expect(transport.sent).toEqual([]);
  });

  test('the timeout defaults to commandBus.transactionTimeout (seconds)', async () => {
    const transactionManager = new FakeTransactionManager();
    let seen = 0;
    transactionManager.run = async (work, options) => {
      seen = options.timeoutMs;
      return work({ id: 't', signal: new AbortController().signal, client: undefined });
    };
    const app = createCqrs({ logger: silentLogger, transactionManager });
    await app.transaction(async () => undefined);
    expect(seen).toBe(30_000);
  });

  test('currentTransaction() is the running transaction, also in nested dispatches; nested transactions join it', async () => {
    const { app, transactionManager } = setup();
    const ids: (string | undefined)[] = [];
    app.commandBus.register(
      CancelOrderCommand,
      async () => {
        ids.push(currentTransaction()?.id);
        await app.transaction(async (tx) => void ids.push(tx.id));
        return true;
      },
      { replace: true },
    );
    await app.commandBus.dispatchTransaction([new CancelOrderCommand('a')]);
    expect(ids).toEqual(['tx-0', 'tx-0']);
    expect(transactionManager.commits).toBe(1);
    expect(currentTransaction()).toBeUndefined();
  });

  test('an outbox-capable transaction manager receives the async sends inside the transaction', async () => {
    const transport = new RecordingTransport();
    const outbox: { channel: string; message: TransportMessage }[] = [];
    const transactionManager = new FakeTransactionManager();
    const original = transactionManager.run.bind(transactionManager);
    transactionManager.run = (work, options) =>
      original(
        (tx) =>
          work({
            ...tx,
            enqueue: async (channel, message) => void outbox.push({ channel, message }),
          }),
        options,
      );
    const app = createCqrs({ logger: silentLogger, transport, transactionManager });
    await app.transaction(async () => {
      await app.eventBus.publishAsync(new OrderPlaced('o-1', 'u'));
    });
    expect(outbox.map((o) => o.message.type)).toEqual(['OrderPlaced']);
    expect(transport.sent).toEqual([]);
  });

  test('without a transaction manager, a transaction is a ConfigError', async () => {
    const app = createCqrs({ logger: silentLogger });
    await expect(app.commandBus.dispatchTransaction([])).rejects.toBeInstanceOf(ConfigError);
  });
});

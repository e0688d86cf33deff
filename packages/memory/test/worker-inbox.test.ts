import {
  Command,
  ConfigError,
  createCqrs,
  currentTransaction,
  type Inbox,
  silentLogger,
} from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { createMemoryTransactionManager, createMemoryTransport } from '../src/index';
import { until } from './helpers';

class Bump extends Command {
  static readonly messageType = 'inboxtest.Bump';
}

/** An inbox in a Set, committed with nothing: enough to see what the worker asks of it. */
function setInbox(): Inbox & { readonly seen: Set<string> } {
  const seen = new Set<string>();
  return {
    name: 'set',
    seen,
    async record(consumer, messageId) {
      const key = `${consumer} ${messageId}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
  };
}

describe('a worker with an inbox', () => {
  test('runs each message id once per consumer, inside a transaction, and acknowledges the rest', async () => {
    const transport = createMemoryTransport();
    const app = createCqrs({
      logger: silentLogger,
      transport,
      transactionManager: createMemoryTransactionManager(),
    });
    const inbox = setInbox();
    let runs = 0;
    const inTransaction: boolean[] = [];
    app.commandBus.register(Bump, () => {
      runs += 1;
      inTransaction.push(currentTransaction() !== undefined);
    });
    const worker = await app.startWorker({ inbox, group: 'bumpers' });
    const bump = new Bump();
    const wire = {
      id: bump.messageId,
      type: Bump.messageType,
      body: app.registry.encode(bump, 'command'),
      headers: {},
    };
    for (let copy = 0; copy < 3; copy++) await transport.send('commands', wire);
    await until(async () => (await transport.depth('commands', { group: 'bumpers' })) === 0, 'the copies');
    expect(runs).toBe(1);
    expect(inTransaction).toEqual([true]);
    expect([...inbox.seen]).toEqual([`bumpers/commands ${bump.messageId}`]);
    await worker.close();
    await app.close();
  });

  test('needs a transaction manager', async () => {
    const app = createCqrs({ logger: silentLogger, transport: createMemoryTransport() });
    await expect(app.startWorker({ inbox: setInbox() })).rejects.toBeInstanceOf(ConfigError);
    await app.close();
  });
});

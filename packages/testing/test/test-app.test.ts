// The in-memory app: idle() and the clock against delayed sends, retries, dead letters and cache
// TTLs, and what it records for the matchers.
import { ConcurrencyError, defineConfig, EventSourcedRepository } from '@finaegis/core';
import { afterEach, describe, expect, test } from 'vitest';
import { createTestApp, IdleTimeoutError, type TestApp } from '../src/index';
import './vitest-matchers';
import {
  Account,
  balancesProjection,
  Deposited,
  GetBalance,
  OpenAccount,
  SendStatement,
  Withdrawn,
} from './domain';

const apps: TestApp[] = [];
async function app(options: Parameters<typeof createTestApp>[0] = {}): Promise<TestApp> {
  const created = await createTestApp(options);
  apps.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('idle()', () => {
  test('resolves once an async command, the events it publishes async and their subscribers have run', async () => {
    const a = await app();
    const statements: string[] = [];
    a.commandBus.register(OpenAccount, async (command) => {
      await a.eventBus.publishAsync(new Deposited(command.accountId, command.initial));
      return command.accountId;
    });
    a.eventBus.subscribe(Deposited, async (event) => {
      await a.commandBus.dispatchAsync(new SendStatement(event.accountId));
    });
    a.commandBus.register(SendStatement, (command) => {
      statements.push(command.accountId);
    });

    await a.commandBus.dispatchAsync(new OpenAccount('acc-1', '100'));
    await a.idle();

    expect(statements).toEqual(['acc-1']);
    expect(a).toHaveDispatched(OpenAccount, { accountId: 'acc-1' }, { async: true, times: 1 });
    expect(a).toHaveDispatched(SendStatement, { accountId: 'acc-1' }, { times: 1 });
    expect(a).toHavePublished(Deposited, { accountId: 'acc-1', amount: '100' }, { async: true });
    expect(a).toHaveSent(Deposited, { amount: '100' }, { channel: 'events', key: 'acc-1' });
    expect(a.handled.map((h) => [h.type, h.attempt, h.outcome])).toEqual([
      ['bank.OpenAccount', 1, 'ack'],
      ['bank.Deposited', 1, 'ack'],
      ['bank.SendStatement', 1, 'ack'],
    ]);
  });

  test('waits for work started without awaiting it, and for in-process calls still running', async () => {
    const a = await app();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const done: string[] = [];
    a.commandBus.register(OpenAccount, async (command) => {
      await gate;
      done.push(command.accountId);
      return command.accountId;
    });
    const running = a.commandBus.dispatch(new OpenAccount('acc-1', '0'));
    void a.commandBus.dispatchAsync(new OpenAccount('acc-2', '0'));
    const idle = a.idle();
    setImmediate(release);
    await idle;
    expect(done.sort()).toEqual(['acc-1', 'acc-2']);
    expect(await running).toBe('acc-1');
  });

  test('fails with IdleTimeoutError naming what is still busy, instead of hanging', async () => {
    const a = await app({ idleTimeoutMs: 50 });
    let release!: () => void;
    const never = new Promise<void>((resolve) => {
      release = resolve;
    });
    a.commandBus.register(SendStatement, () => never);
    await a.commandBus.dispatchAsync(new SendStatement('acc-1'));
    const error = await a.idle().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdleTimeoutError);
    expect((error as IdleTimeoutError).busy).toContain('commands/workers: 0 due, 1 in flight');
    expect((error as Error).message).toContain('delivery of bank.SendStatement on commands/workers');
    release();
    await a.idle();
  });

  test('does not wait for messages no consumer takes (no worker)', async () => {
    const a = await app({ worker: false });
    a.commandBus.register(SendStatement, () => undefined);
    await a.commandBus.dispatchAsync(new SendStatement('acc-1'));
    await a.idle();
    expect(a).toHaveSent(SendStatement);
    expect(a.handled).toEqual([]);
    await a.startWorker();
    await a.idle();
    expect(a.handled.map((h) => h.outcome)).toEqual(['ack']);
  });
});

describe('the clock', () => {
  test('a delayed send is handled when the clock reaches its time, never before, without sleeping', async () => {
    const a = await app();
    const handledAt: number[] = [];
    const start = a.clock.now();
    a.commandBus.register(SendStatement, () => {
      handledAt.push(a.clock.now() - start);
    });
    await a.commandBus.dispatchAsync(new SendStatement('acc-1'), { delay: 3600 });
    await a.idle();
    expect(handledAt).toEqual([]);
    expect(a).toHaveSent(SendStatement, { accountId: 'acc-1' }, { delayMs: 3_600_000 });
    await a.advance(3_599_999);
    expect(handledAt).toEqual([]);
    await a.advance(1);
    expect(handledAt).toEqual([3_600_000]);
  });

  test('a delay set by a handler inside the window runs in the same advance, at its own time', async () => {
    const a = await app();
    const start = a.clock.now();
    a.commandBus.register(OpenAccount, async (command) => {
      await a.commandBus.dispatchAsync(new SendStatement(command.accountId), { delay: 5 });
      return command.accountId;
    });
    a.commandBus.register(SendStatement, () => undefined);
    await a.commandBus.dispatchAsync(new OpenAccount('acc-1', '0'), { delay: 10 });
    await a.advance(20_000);
    expect(a.handled.map((h) => [h.type, h.at - start])).toEqual([
      ['bank.OpenAccount', 10_000],
      ['bank.SendStatement', 15_000],
    ]);
    expect(a.clock.now() - start).toBe(20_000);
  });

  test('retries wait for their backoff on the clock; idle() does not wait for a retry not yet due', async () => {
    const a = await app({ worker: { retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 60_000 } } } });
    let calls = 0;
    a.commandBus.register(SendStatement, () => {
      calls++;
      if (calls < 3) throw new Error(`mail server down (${calls})`);
    });
    await a.commandBus.dispatchAsync(new SendStatement('acc-1'));
    await a.idle();
    expect(a.handled.map((h) => [h.attempt, h.outcome])).toEqual([[1, 'retry']]);
    await a.advance(59_999);
    expect(calls).toBe(1);
    await a.advance(1);
    expect(a.handled.map((h) => [h.attempt, h.outcome])).toEqual([
      [1, 'retry'],
      [2, 'retry'],
    ]);
    await a.advance(60_000);
    expect(a.handled.map((h) => [h.attempt, h.outcome])).toEqual([
      [1, 'retry'],
      [2, 'retry'],
      [3, 'ack'],
    ]);
    expect(a).not.toHaveDeadLettered(SendStatement);
  });

  test('a message that keeps failing is dead-lettered after the default backoff (100 ms, then 200 ms)', async () => {
    const a = await app();
    a.commandBus.register(SendStatement, () => {
      throw new Error('always');
    });
    await a.commandBus.dispatchAsync(new SendStatement('acc-9'));
    await a.advance(299);
    expect(a.handled.map((h) => h.outcome)).toEqual(['retry', 'retry']);
    await a.advance(1);
    expect(a).toHaveDeadLettered(SendStatement, { accountId: 'acc-9' });
    const [letter] = await a.deadLetters();
    expect(letter).toMatchObject({
      attempts: 3,
      channel: 'commands',
      error: { message: expect.stringContaining('always') },
    });
  });

  test('a cached answer lives for its TTL on the clock, then the handler runs again', async () => {
    const a = await app();
    let runs = 0;
    a.queryBus.register(GetBalance, (query) => {
      runs++;
      return { accountId: query.accountId, balance: String(runs * 10) };
    });
    expect(await a.queryBus.askCached(new GetBalance('acc-1'), { ttl: 60 })).toEqual({
      accountId: 'acc-1',
      balance: '10',
    });
    expect(a).toHaveCached(GetBalance, { accountId: 'acc-1' }, { value: { balance: '10' } });
    expect(a).not.toHaveCached(GetBalance, { accountId: 'acc-2' });
    await a.advance(59_999);
    expect(await a.queryBus.askCached(new GetBalance('acc-1'), { ttl: 60 })).toMatchObject({ balance: '10' });
    expect(runs).toBe(1);
    await a.advance(1);
    expect(a).not.toHaveCached(GetBalance, { accountId: 'acc-1' });
    expect(a).toHaveCached(GetBalance, { accountId: 'acc-1' }, { live: false });
    expect(await a.queryBus.askCached(new GetBalance('acc-1'), { ttl: 60 })).toMatchObject({ balance: '20' });
    expect(runs).toBe(2);
    expect(a.cacheWrites.map((w) => [w.ttlSeconds, w.expiresAt - w.at])).toEqual([
      [60, 60_000],
      [60, 60_000],
    ]);
  });

  test('an invalidated entry is no longer cached', async () => {
    const a = await app();
    a.queryBus.register(GetBalance, (query) => ({ accountId: query.accountId, balance: '1' }));
    await a.queryBus.askCached(new GetBalance('acc-1'), { ttl: 60 });
    expect(a).toHaveCached(GetBalance, { accountId: 'acc-1' });
    await a.adapters.cache.clear(`query:${GetBalance.messageType}`);
    expect(a).not.toHaveCached(GetBalance);
  });

  test('advance refuses a negative or endless time', async () => {
    const a = await app();
    await expect(a.advance(-1)).rejects.toThrow(/invalid ms/);
    await expect(a.clock.advance(Number.POSITIVE_INFINITY)).rejects.toThrow(/invalid ms/);
  });
});

describe('what the app records', () => {
  test('sends held by a transaction are sent at commit, and a rolled-back one never is', async () => {
    const a = await app();
    a.commandBus.register(SendStatement, () => undefined);
    await a.transaction(async () => {
      await a.commandBus.dispatchAsync(new SendStatement('kept'));
      expect(a.sent).toEqual([]);
    });
    expect(a).toHaveSent(SendStatement, { accountId: 'kept' });
    await a
      .transaction(async () => {
        await a.commandBus.dispatchAsync(new SendStatement('dropped'));
        throw new ConcurrencyError('s', 0, 1);
      })
      .catch(() => undefined);
    await a.idle();
    expect(a).toHaveSent(SendStatement, {}, { times: 1 });
    expect(a).not.toHaveSent(SendStatement, { accountId: 'dropped' });
    expect(a.sentOf(SendStatement).map((c) => c.accountId)).toEqual(['kept']);
  });

  test('a failing in-process call is recorded as failed, and a sync publish is not async', async () => {
    const a = await app();
    a.eventBus.subscribe(Withdrawn, () => {
      throw new Error('subscriber broke');
    });
    await expect(a.eventBus.publish(new Withdrawn('acc-1', '5'))).rejects.toThrow();
    expect(a.published).toMatchObject([{ type: 'bank.Withdrawn', async: false, failed: true }]);
    expect(a).toHavePublished(Withdrawn, { amount: '5' }, { async: false });
    expect(a).not.toHavePublished(Withdrawn, {}, { async: true });
    expect(a.publishedOf(Withdrawn)[0]?.accountId).toBe('acc-1');
    a.clearRecords();
    expect(a.published).toEqual([]);
  });

  test('projections added with project() are caught up by idle(): the read model answers queries', async () => {
    const a = await app();
    const { projection, balances } = balancesProjection();
    a.project(projection);
    a.registry.register(Deposited, Withdrawn);
    const accounts = new EventSourcedRepository(Account, {
      store: a.adapters.eventStore,
      registry: a.registry,
      bus: a.eventBus,
    });
    a.commandBus.register(OpenAccount, async (command) => {
      const account = accounts.create(command.accountId);
      account.deposit(command.initial);
      await accounts.save(account);
      return account.id;
    });
    a.queryBus.register(GetBalance, (query) => ({
      accountId: query.accountId,
      balance: String(balances.get(query.accountId) ?? 0n),
    }));
    await a.commandBus.dispatchAsync(new OpenAccount('acc-1', '70'));
    await a.commandBus.dispatchAsync(new OpenAccount('acc-2', '30'));
    await a.idle();
    expect(await a.queryBus.ask(new GetBalance('acc-1'))).toEqual({ accountId: 'acc-1', balance: '70' });
    expect(a).toHavePublished(Deposited, { accountId: 'acc-2' }, { async: false });
  });

  test('the config decides the channels', async () => {
    const a = await app({
      config: defineConfig({
        commandBus: { asyncQueue: 'bank-commands' },
        eventBus: { asyncQueue: 'bank-events' },
      }),
    });
    a.commandBus.register(SendStatement, () => undefined);
    await a.commandBus.dispatchAsync(new SendStatement('acc-1'));
    await a.idle();
    expect(a).toHaveSent(SendStatement, {}, { channel: 'bank-commands' });
    expect(a).not.toHaveSent(SendStatement, {}, { channel: 'commands' });
    expect(a.handled[0]).toMatchObject({ channel: 'bank-commands', outcome: 'ack' });
  });
});

// The pieces on their own: the clock, and the adapters for an app composed by code of its own.
import { createCqrs, silentLogger } from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { createTestAdapters, createTestClock } from '../src/index';
import './vitest-matchers';
import { Deposited, OpenAccount, SendStatement } from './domain';

describe('createTestClock', () => {
  test('starts where told, runs timers in time order (ties in the order set), and cancels', async () => {
    const clock = createTestClock({ startAt: new Date('2030-01-01T00:00:00Z') });
    const ran: string[] = [];
    clock.setTimer(() => ran.push('b@200'), 200);
    clock.setTimer(() => ran.push('a@100'), 100);
    clock.setTimer(() => ran.push('c@200'), 200);
    const cancelled = clock.setTimer(() => ran.push('never'), 150);
    cancelled.cancel();
    expect(clock.pendingTimers).toBe(3);
    expect(clock.nextTimerAt()).toBe(Date.UTC(2030, 0, 1) + 100);
    await clock.advance(199);
    expect(ran).toEqual(['a@100']);
    await clock.advanceTo(Date.UTC(2030, 0, 1) + 200);
    expect(ran).toEqual(['a@100', 'b@200', 'c@200']);
    expect(clock.now()).toBe(Date.UTC(2030, 0, 1) + 200);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  test('a timer set by a timer inside the window runs in the same advance; time never goes back', async () => {
    const clock = createTestClock({ startAt: 0 });
    const ran: number[] = [];
    clock.setTimer(() => {
      ran.push(clock.now());
      clock.setTimer(() => ran.push(clock.now()), 50);
    }, 100);
    await clock.advance(1_000);
    expect(ran).toEqual([100, 150]);
    await clock.advanceTo(10);
    expect(clock.now()).toBe(1_000);
  });

  test('concurrent advances run one after the other', async () => {
    const clock = createTestClock({ startAt: 0 });
    const ran: number[] = [];
    for (const at of [300, 100, 200]) clock.setTimer(() => ran.push(clock.now()), at);
    await Promise.all([clock.advance(150), clock.advance(150)]);
    expect(ran).toEqual([100, 200, 300]);
    expect(clock.now()).toBe(300);
  });

  test('bad times are refused naming the argument', async () => {
    expect(() => createTestClock({ startAt: Number.NaN })).toThrow(/invalid startAt/);
    await expect(createTestClock().advanceTo(Number.NaN)).rejects.toThrow(/invalid time/);
  });
});

describe('createTestAdapters', () => {
  /** An app composed by code of its own, taking its adapters and middleware from the caller. */
  function createBankApp(options: {
    adapters: ReturnType<typeof createTestAdapters>['adapters'];
    middleware: [] | [ReturnType<typeof createTestAdapters>['middleware']];
  }) {
    const app = createCqrs({ logger: silentLogger, ...options.adapters, middleware: options.middleware });
    app.commandBus.register(OpenAccount, async (command) => {
      await app.eventBus.publishAsync(new Deposited(command.accountId, command.initial));
      return command.accountId;
    });
    app.eventBus.subscribe(Deposited, () => undefined);
    return app;
  }

  test('record, idle and advance for an app composed elsewhere', async () => {
    const kit = createTestAdapters();
    const app = createBankApp({ adapters: kit.adapters, middleware: [kit.middleware] });
    await app.startWorker();
    await app.commandBus.dispatchAsync(new OpenAccount('a', '10'), { delay: 5 });
    await kit.advance(5_000);
    expect(kit).toHavePublished(Deposited, { accountId: 'a' }, { async: true });
    expect(kit.handled.map((h) => [h.type, h.outcome])).toEqual([
      ['bank.OpenAccount', 'ack'],
      ['bank.Deposited', 'ack'],
    ]);
    kit.detach();
    await app.close();
  });

  test('two apps on one clock (two processes) move together', async () => {
    const clock = createTestClock();
    const kits = [createTestAdapters({ clock }), createTestAdapters({ clock })];
    const apps = kits.map((kit) => createBankApp({ adapters: kit.adapters, middleware: [kit.middleware] }));
    const handled: string[] = [];
    for (const [i, app] of apps.entries()) {
      app.commandBus.register(SendStatement, (command) => void handled.push(`${i}:${command.accountId}`));
      await app.startWorker();
    }
    await apps[0]!.commandBus.dispatchAsync(new SendStatement('x'), { delay: 20 });
    await apps[1]!.commandBus.dispatchAsync(new SendStatement('y'), { delay: 10 });
    await clock.advance(20_000);
    expect(handled).toEqual(['1:y', '0:x']);
    for (const kit of kits) kit.detach();
    await Promise.all(apps.map((app) => app.close()));
  });

  test('a bad idle timeout is refused', () => {
    expect(() => createTestAdapters({ idleTimeoutMs: 0 })).toThrow(/invalid idleTimeoutMs/);
  });
});

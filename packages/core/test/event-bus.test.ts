import {
  ConfigError,
  createCqrs,
  DomainEvent,
  defineConfig,
  EventHandlingError,
  silentLogger,
  UnitOfWorkError,
} from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { BalanceUpdated, OrderPlaced } from './domain';
import { RecordingTransport } from './fakes';

describe('EventBus.subscribe / publish', () => {
  test('higher priority first; equal priority in subscription order', async () => {
    const { eventBus } = createCqrs({ logger: silentLogger });
    const order: string[] = [];
    eventBus.subscribe(OrderPlaced, () => void order.push('p0-a'));
    eventBus.subscribe(OrderPlaced, () => void order.push('p10'), { priority: 10 });
    eventBus.subscribe(OrderPlaced, () => void order.push('p0-b'));
    eventBus.subscribe(OrderPlaced, () => void order.push('p5-a'), { priority: 5 });
    eventBus.subscribe(OrderPlaced, () => void order.push('p5-b'), { priority: 5 });
    await eventBus.publish(new OrderPlaced('o-1', 'u-1'));
    expect(order).toEqual(['p10', 'p5-a', 'p5-b', 'p0-a', 'p0-b']);
  });

  test('priority is checked against priorityLevels', () => {
    const { eventBus } = createCqrs({
      logger: silentLogger,
      config: defineConfig({ eventBus: { priorityLevels: 3 } }),
    });
    expect(() => eventBus.subscribe(OrderPlaced, () => {}, { priority: 4 })).toThrow(ConfigError);
    expect(() => eventBus.subscribe(OrderPlaced, () => {}, { priority: -1 })).toThrow(ConfigError);
    expect(() => eventBus.subscribe(OrderPlaced, () => {}, { priority: 1.5 })).toThrow(ConfigError);
    expect(() => eventBus.subscribe(OrderPlaced, () => {}, { priority: 3 })).not.toThrow();
  });

  test('subscribe returns an unsubscribe; unsubscribe removes only that handler', async () => {
    const { eventBus } = createCqrs({ logger: silentLogger });
    const calls: string[] = [];
    const a = () => void calls.push('a');
    const b = () => void calls.push('b');
    const offA = eventBus.subscribe(OrderPlaced, a);
    eventBus.subscribe(OrderPlaced, b);
    eventBus.subscribe(BalanceUpdated, a);
    offA();
    await eventBus.publish(new OrderPlaced('o', 'u'));
    expect(calls).toEqual(['b']);
    expect(eventBus.unsubscribe(OrderPlaced, b)).toBe(true);
    expect(eventBus.unsubscribe(OrderPlaced, b)).toBe(false);
    await eventBus.publish(new BalanceUpdated('acc', '1.00'));
    expect(calls).toEqual(['b', 'a']);
    expect(eventBus.getSubscribers(OrderPlaced)).toEqual([]);
  });

  test('a subscriber to DomainEvent receives every event', async () => {
    const { eventBus } = createCqrs({ logger: silentLogger });
    const seen: string[] = [];
    eventBus.subscribe(DomainEvent, (e) => void seen.push(e.eventType));
    await eventBus.publishMultiple([new OrderPlaced('o', 'u'), new BalanceUpdated('a', '1')]);
    expect(seen).toEqual(['OrderPlaced', 'BalanceUpdated']);
  });

  test('a failing subscriber never skips the others; failures are thrown together after all ran', async () => {
    const { eventBus } = createCqrs({ logger: silentLogger });
    const ran: string[] = [];
    eventBus.subscribe(
      OrderPlaced,
      () => {
        ran.push('first');
        throw new Error('first failed');
      },
      { priority: 2, name: 'first' },
    );
    eventBus.subscribe(
      OrderPlaced,
      async () => {
        ran.push('second');
      },
      { priority: 1 },
    );
    eventBus.subscribe(
      OrderPlaced,
      async () => {
        ran.push('third');
        throw new Error('third failed');
      },
      { name: 'third' },
    );
    const error = (await eventBus
      .publish(new OrderPlaced('o', 'u'))
      .catch((e: unknown) => e)) as EventHandlingError;
    expect(ran).toEqual(['first', 'second', 'third']);
    expect(error).toBeInstanceOf(EventHandlingError);
    expect(error.failures.map((f) => f.subscriber)).toEqual(['first', 'third']);
    expect((error.cause as Error).message).toBe('first failed');
  });

  test('publishMultiple publishes every event even when one fails', async () => {
    const { eventBus } = createCqrs({ logger: silentLogger });
    const seen: string[] = [];
    eventBus.subscribe(OrderPlaced, (e) => {
      seen.push(e.orderId);
      if (e.orderId === 'o-1') throw new Error('x');
    });
    await expect(
      eventBus.publishMultiple([new OrderPlaced('o-1', 'u'), new OrderPlaced('o-2', 'u')]),
    ).rejects.toBeInstanceOf(EventHandlingError);
    expect(seen).toEqual(['o-1', 'o-2']);
  });

  test('handlers disabled: subscribe registers nothing', async () => {
    const { eventBus } = createCqrs({
      logger: silentLogger,
      config: defineConfig({ enableHandlers: false }),
    });
    let ran = false;
    eventBus.subscribe(OrderPlaced, () => {
      ran = true;
    });
    await eventBus.publish(new OrderPlaced('o', 'u'));
    expect(ran).toBe(false);
  });

  test('publishAsync sends to the events channel keyed by aggregate id, with the envelope identity', async () => {
    const transport = new RecordingTransport();
    const { eventBus } = createCqrs({ logger: silentLogger, transport });
    const event = new OrderPlaced('o-7', 'u-1', { correlationId: 'corr-1' });
    await eventBus.publishAsync(event, { delay: 10 });
    const [sent] = transport.sent;
    expect(sent?.channel).toBe('events');
    expect(sent?.message.key).toBe('o-7');
    expect(sent?.options?.delayMs).toBe(10_000);
    const body = JSON.parse(sent!.message.body);
    expect(body.event).toEqual({
      aggregateId: 'o-7',
      aggregateType: 'Order',
      version: 0,
      correlationId: 'corr-1',
    });
  });
});

describe('record / dispatchRecorded / clearRecorded', () => {
  test('record outside a unit of work is refused (there is no process-wide list)', () => {
    const { eventBus } = createCqrs({ logger: silentLogger });
    expect(() => eventBus.record(new OrderPlaced('o', 'u'))).toThrow(UnitOfWorkError);
  });

  test('recorded events are published by dispatchRecorded, and forgotten by clearRecorded', async () => {
    const app = createCqrs({ logger: silentLogger });
    const seen: string[] = [];
    app.eventBus.subscribe(OrderPlaced, (e) => void seen.push(e.orderId));
    await app.unitOfWork(async () => {
      app.eventBus.record(new OrderPlaced('o-1', 'u'));
      app.eventBus.record(new OrderPlaced('o-2', 'u'));
      expect(app.eventBus.recorded()).toHaveLength(2);
      expect(seen).toEqual([]);
      await app.eventBus.dispatchRecorded();
      expect(seen).toEqual(['o-1', 'o-2']);
      app.eventBus.record(new OrderPlaced('o-3', 'u'));
      expect(app.eventBus.clearRecorded()).toBe(1);
    });
    expect(seen).toEqual(['o-1', 'o-2']);
  });

  test('events left recorded are published when the unit of work succeeds, dropped when it fails', async () => {
    const app = createCqrs({ logger: silentLogger });
    const seen: string[] = [];
    app.eventBus.subscribe(OrderPlaced, (e) => void seen.push(e.orderId));
    await app.unitOfWork(async () => app.eventBus.record(new OrderPlaced('kept', 'u')));
    await expect(
      app.unitOfWork(async () => {
        app.eventBus.record(new OrderPlaced('dropped', 'u'));
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(seen).toEqual(['kept']);
  });

  test('a handler error never loses the remaining recorded events', async () => {
    const app = createCqrs({ logger: silentLogger });
    const seen: string[] = [];
    app.eventBus.subscribe(OrderPlaced, (e) => {
      seen.push(e.orderId);
      if (e.orderId === 'o-1') throw new Error('boom');
    });
    await app.unitOfWork(async () => {
      for (const id of ['o-1', 'o-2', 'o-3']) app.eventBus.record(new OrderPlaced(id, 'u'));
      await expect(app.eventBus.dispatchRecorded()).rejects.toBeInstanceOf(EventHandlingError);
    });
    expect(seen).toEqual(['o-1', 'o-2', 'o-3']);
  });

  test('1,000 concurrent units of work never see each other’s events', async () => {
    const app = createCqrs({ logger: silentLogger });
    const published = new Map<string, string[]>();
    app.eventBus.subscribe(OrderPlaced, (e) => {
      const list = published.get(e.userId) ?? [];
      list.push(e.orderId);
      published.set(e.userId, list);
    });
    const mixed: string[] = [];
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        app.unitOfWork(async () => {
          const user = `u-${i}`;
          for (let n = 0; n < 3; n++) {
            app.eventBus.record(new OrderPlaced(`${user}-o${n}`, user));
            await new Promise((resolve) => setImmediate(resolve));
          }
          for (const event of app.eventBus.recorded()) {
            if ((event as OrderPlaced).userId !== user)
              mixed.push(`${user} saw ${(event as OrderPlaced).orderId}`);
          }
          if (i % 2 === 0) await app.eventBus.dispatchRecorded();
        }),
      ),
    );
    expect(mixed).toEqual([]);
    expect(published.size).toBe(1000);
    for (const [user, orders] of published)
      expect(orders).toEqual([`${user}-o0`, `${user}-o1`, `${user}-o2`]);
  });
});

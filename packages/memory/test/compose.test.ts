import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  Command,
  composeCqrs,
  configFromEnv,
  DomainEvent,
  type EventInit,
  Query,
  silentLogger,
} from '@finaegis/core';
import { afterEach, describe, expect, it, test } from 'vitest';
import { memoryDriver } from '../src/index';
import { main } from './compose-example';

class Greet extends Command<string> {
  static readonly messageType = 'compose.Greet';
  constructor(readonly name: string) {
    super();
  }
}
class Greeted extends DomainEvent {
  static readonly messageType = 'compose.Greeted';
  constructor(
    readonly name: string,
    init?: EventInit,
  ) {
    super({ aggregateId: name, aggregateType: 'greeter', ...init });
  }
}
class CountGreetings extends Query<number> {
  static readonly messageType = 'compose.CountGreetings';
}

const apps: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('composeCqrs on the memory driver', () => {
  it('finds the memory driver by name when none is passed, and runs async work, the cache and events', async () => {
    const app = await composeCqrs({ config: configFromEnv({}), logger: silentLogger });
    apps.push(app);
    expect(app.adapters.transport.name).toBe('memory');
    let greetings = 0;
    let handled = 0;
    const seen: string[] = [];
    app.commandBus.register(Greet, async (command) => {
      greetings += 1;
      await app.eventBus.publishAsync(new Greeted(command.name));
      return `hello ${command.name}`;
    });
    app.queryBus.register(CountGreetings, () => {
      handled += 1;
      return greetings;
    });
    app.eventBus.subscribe(Greeted, (event) => {
      seen.push(event.name);
    });
    await app.startWorker({ group: 'compose-test' });
    await app.dispatchAsync(new Greet('ada'));
    await expect.poll(() => seen).toEqual(['ada']);
    expect(await app.queryBus.askCached(new CountGreetings())).toBe(1);
    expect(await app.queryBus.askCached(new CountGreetings())).toBe(1);
    expect(handled).toBe(1);
    const health = await app.health();
    expect(health).toMatchObject({ status: 'up', ready: true, live: true });
    expect(health.components.map((c) => `${c.component}:${c.adapter}`)).toEqual([
      'transport:memory',
      'cache:memory',
      'eventStore:memory',
      'transactionManager:memory',
    ]);
  });

  it('uses a driver passed in drivers before looking one up', async () => {
    let built = 0;
    const counting = {
      ...memoryDriver,
      transports: {
        memory: (context: Parameters<NonNullable<typeof memoryDriver.transports>['memory']>[0]) => {
          built += 1;
          return memoryDriver.transports!.memory!(context);
        },
      },
    };
    const app = await composeCqrs({ config: configFromEnv({}), logger: silentLogger, drivers: [counting] });
    apps.push(app);
    expect(built).toBe(1);
  });

  it('shuts down once, in order, and reports each step', async () => {
    const app = await composeCqrs({ config: configFromEnv({}), logger: silentLogger });
    await app.startWorker();
    const first = app.shutdown({ reason: 'test' });
    const second = app.shutdown();
    expect(second).toBe(first);
    const report = await first;
    expect(report.clean).toBe(true);
    expect(report.steps.map((s) => s.step)).toEqual([
      'stop consumers',
      'close buses, transport and cache',
      'close event store',
    ]);
    expect((await app.health()).ready).toBe(false);
    await expect(
      app.adapters.transport.send('x', { id: '1', type: 't', body: '', headers: {} }),
    ).rejects.toThrow(/closed/);
  });
});

describe("core README's composition example", () => {
  test('is this tested file, verbatim', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../core/README.md'), 'utf8');
    const example = readFileSync(resolve(import.meta.dirname, 'compose-example.ts'), 'utf8');
    expect(readme).toContain(example.trim());
  });

  test('runs on the defaults (memory) and gives what it says', async () => {
    const level = process.env.DOMAIN_LOG_LEVEL;
    process.env.DOMAIN_LOG_LEVEL = 'off';
    try {
      expect(await main()).toEqual({ balance: '250', ready: true, deposited: ['250'] });
    } finally {
      if (level === undefined) delete process.env.DOMAIN_LOG_LEVEL;
      else process.env.DOMAIN_LOG_LEVEL = level;
    }
  });
});

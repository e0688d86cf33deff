// Installs the packed packages with plain npm into a folder outside the workspace, then runs an ESM
// script, a CJS script and a type check against them: what users get from the registry must work
// on its own, not only inside this monorepo.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { consumerEnv, installConsumer, removeConsumer, root, run, runScript } from './consumer';

let dir: string;

beforeAll(() => {
  dir = installConsumer(['core', 'memory']);
});

afterAll(() => {
  removeConsumer(dir);
});

describe('packed @finaegis/core and @finaegis/memory, installed with npm', () => {
  test('an ESM script dispatches a command and prints its result', () => {
    writeFileSync(
      join(dir, 'esm.mjs'),
      `import { Command, createCqrs, silentLogger } from '@finaegis/core';
import { createMemoryCacheStore } from '@finaegis/memory';
class Greet extends Command {
  static messageType = 'Greet';
  constructor(name) { super(); this.name = name; }
}
const app = createCqrs({ logger: silentLogger, cache: createMemoryCacheStore() });
app.commandBus.register(Greet, (cmd) => 'hello ' + cmd.name + ' from esm');
console.log(await app.commandBus.dispatch(new Greet('world')));
await app.close();
`,
    );
    expect(run('node', ['esm.mjs'], dir).trim()).toBe('hello world from esm');
  });

  test('a CJS script dispatches a command and prints its result', () => {
    writeFileSync(
      join(dir, 'cjs.cjs'),
      `const { Command, createCqrs, silentLogger } = require('@finaegis/core');
const { createMemoryTransport } = require('@finaegis/memory');
class Greet extends Command {
  static messageType = 'Greet';
  constructor(name) { super(); this.name = name; }
}
const app = createCqrs({ logger: silentLogger, transport: createMemoryTransport() });
app.commandBus.register(Greet, (cmd) => 'hello ' + cmd.name + ' from cjs');
app.commandBus.dispatch(new Greet('world')).then((result) => { console.log(result); return app.close(); });
`,
    );
    expect(run('node', ['cjs.cjs'], dir).trim()).toBe('hello world from cjs');
  });

  test('the published types infer handler results', () => {
    writeFileSync(
      join(dir, 'typed.ts'),
      `import { Command, createCqrs } from '@finaegis/core';
class Total extends Command<{ sum: string }> {
  static readonly messageType = 'Total';
  constructor(readonly a: string) { super(); }
}
const app = createCqrs();
app.commandBus.register(Total, (cmd) => ({ sum: cmd.a }));
export async function main(): Promise<string> {
  const result = await app.commandBus.dispatch(new Total('1.5'));
  // @ts-expect-error the result is { sum: string }, not a number
  const wrong: number = result;
  void wrong;
  return result.sum;
}
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['typed.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    expect(run('node', [tsc, '-p', 'tsconfig.json'], dir)).toBe('');
  });

  test('an app built from environment variables alone (memory) dispatches async, caches a query and handles an event', async () => {
    const result = await runScript(dir, 'app.mjs', consumerEnv({}));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      adapters: {
        transport: 'memory',
        cache: 'memory',
        eventStore: 'memory',
        transactionManager: 'memory',
        checkpointStore: 'object',
      },
      outbox: false,
      dispatched: true,
      events: ['acct-1+250'],
      balances: ['250', '250'],
      queryRuns: 1,
      health: { status: 'up', ready: true, checks: ['up', 'up', 'up', 'up'] },
      shutdown: {
        clean: true,
        steps: ['stop consumers: done', 'close buses, transport and cache: done', 'close event store: done'],
      },
    });
  });

  test.each([
    [
      'QUEUE_CONNECTION',
      'kafka',
      'QUEUE_CONNECTION=kafka needs @finaegis/kafka and kafkajs: pnpm add @finaegis/kafka kafkajs',
    ],
    [
      'QUEUE_CONNECTION',
      'bullmq',
      'QUEUE_CONNECTION=bullmq needs @finaegis/bullmq, bullmq and ioredis: pnpm add @finaegis/bullmq bullmq ioredis',
    ],
    [
      'CACHE_DRIVER',
      'redis',
      'CACHE_DRIVER=redis needs @finaegis/keyv, keyv and @keyv/redis: pnpm add @finaegis/keyv keyv @keyv/redis',
    ],
    [
      'EVENT_STORE',
      'postgres',
      'EVENT_STORE=postgres needs @finaegis/postgres and pg: pnpm add @finaegis/postgres pg',
    ],
  ])(
    '%s=%s without its package fails at start-up with the install command',
    async (variable, value, message) => {
      const result = await runScript(dir, 'app.mjs', consumerEnv({ [variable]: value }));
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(`DriverNotInstalledError: [@finaegis/core] ${message}`);
    },
  );

  test('the install command follows the package manager that started the app', async () => {
    const result = await runScript(
      dir,
      'app.mjs',
      consumerEnv({ QUEUE_CONNECTION: 'kafka', npm_config_user_agent: 'npm/10.8.2 node/v20.19.0 linux x64' }),
    );
    expect(result.stderr).toContain(': npm install @finaegis/kafka kafkajs');
  });

  test.each([
    ['QUEUE_CONNECTION', 'rabbitmq', 'one of memory, bullmq, kafka'],
    ['CACHE_DRIVER', 'memcached', 'one of memory, redis'],
    ['KAFKA_SASL_MECHANISM', 'kerberos', 'one of plain, scram-sha-256, scram-sha-512'],
    ['DATABASE_POOL_SIZE', 'lots', 'a whole number'],
    ['SHUTDOWN_TIMEOUT', '-1', 'a number of seconds'],
  ])(
    'a bad %s=%s fails at start-up naming the variable and the allowed values',
    async (variable, value, allowed) => {
      const result = await runScript(dir, 'app.mjs', consumerEnv({ [variable]: value }));
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(
        `ConfigError: [@finaegis/core] invalid configuration ${variable}=${JSON.stringify(value)}: expected ${allowed}`,
      );
    },
  );
});

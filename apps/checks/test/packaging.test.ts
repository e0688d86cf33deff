// Installs the packed packages with plain npm into a folder outside the workspace, then runs an ESM
// script, a CJS script and a type check against them: what users get from the registry must work
// on its own, not only inside this monorepo.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
let dir: string;

const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'finaegis-pack-'));
  const tarballs = join(dir, 'tarballs');
  for (const name of ['core', 'memory']) {
    run('pnpm', ['pack', '--pack-destination', tarballs], join(root, 'packages', name));
  }
  const files = readdirSync(tarballs).map((file) => join(tarballs, file));
  expect(files).toHaveLength(2);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
  );
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', ...files], dir);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
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
});

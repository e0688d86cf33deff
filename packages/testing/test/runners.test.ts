// The kit outside vitest: jest's `expect` with the matchers, and node:test with the assertion
// functions (run in a child process, as a user would run it).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from '../src/index';
import { Deposited, GetBalance, OpenAccount } from './domain';
import { jestExpect } from './runners/jest-expect';

let app: TestApp;
afterEach(async () => {
  await app?.close();
});

describe("jest's expect", () => {
  test('takes the matchers with expect.extend; they pass, fail and negate as jest matchers do', async () => {
    app = await createTestApp();
    app.commandBus.register(OpenAccount, async (command) => {
      await app.eventBus.publish(new Deposited(command.accountId, command.initial));
      return command.accountId;
    });
    await app.commandBus.dispatchAsync(new OpenAccount('a', '5'), { delay: 1 });
    jestExpect(app).not.toHavePublished(Deposited);
    await app.advance(1_000);
    jestExpect(app).toHavePublished(Deposited, { accountId: 'a', amount: jestExpect.any(String) });
    jestExpect(app).toHaveDispatched(OpenAccount, { initial: '5' }, { async: true, times: 1 });
    jestExpect(app).not.toHaveCached(GetBalance);
    expect(() => jestExpect(app).toHavePublished(Deposited, { amount: '6' })).toThrow(
      /expected the app to have published bank\.Deposited like \{ amount: '6' \}, but it did not/,
    );
    expect(() => jestExpect(app).not.toHavePublished(Deposited)).toThrow(
      /expected the app not to have published bank\.Deposited, but it did \(1 time\(s\)\)/,
    );
    expect(() => jestExpect({}).toHavePublished(Deposited)).toThrow(/expected a test app/);
  });
});

describe('node:test', () => {
  test('runs aggregate and app specs with node:assert and the assertion functions', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/runners/node-test-specs.ts'],
      { cwd: resolve(import.meta.dirname, '..'), encoding: 'utf8' },
    );
    expect(stdout).toMatch(/^# pass 4$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
    expect(stdout).toContain(
      'ok 4 - a failing app assertion names the difference and lists what was published',
    );
  });
});

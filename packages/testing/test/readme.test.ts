// The README's examples are the files in test/readme/, character for character, and they run:
// each one asserts as it goes, so importing it is running it (the node:test one runs under node).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';

const here = import.meta.dirname;
const readme = readFileSync(resolve(here, '../README.md'), 'utf8');
const example = (name: string) => readFileSync(resolve(here, 'readme', name), 'utf8').trim();

describe('README examples', () => {
  test.each([
    'aggregate.ts',
    'decider-and-projection.ts',
    'app.ts',
    'process.ts',
    'node-test.ts',
    'vitest-setup.ts',
    'jest-setup.ts',
  ])('the README shows %s as it is', (name) => {
    expect(readme).toContain(`\`\`\`ts\n${example(name)}\n\`\`\``);
  });

  test('the aggregate spec example runs', async () => {
    await import('./readme/aggregate');
  });

  test('the decider and projection example runs', async () => {
    await import('./readme/decider-and-projection');
  });

  test('the app example runs', async () => {
    await import('./readme/app');
  });

  test('the process spec example runs', async () => {
    await import('./readme/process');
  });

  test('the node:test example passes under node --test', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/readme/node-test.ts'],
      { cwd: resolve(here, '..'), encoding: 'utf8' },
    );
    expect(stdout).toMatch(/^# pass 1$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  });
});

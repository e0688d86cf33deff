import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';
import { quickStart } from '../examples/quick-start';

test('the README quick start is this tested example, verbatim', () => {
  const readme = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8');
  const example = readFileSync(resolve(import.meta.dirname, '../examples/quick-start.ts'), 'utf8');
  expect(readme).toContain(example.trim());
});

test('the README quick start runs and prints what the README says', async () => {
  expect(await quickStart()).toEqual([
    'placed order-0',
    'dispatched order-0',
    'book BTC/USD has 1 order(s)',
    'placed order-1',
    'book has 2 order(s)',
  ]);
});

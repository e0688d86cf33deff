import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;
const workspacePackages = ['core', 'memory', 'contract-tests', 'bullmq', 'kafka', 'keyv', 'postgres'];

/**
 * Tests run against the packages' sources (no build needed while developing); the packaging test
 * is the one place that checks the built `dist` as users install it.
 */
export const sourceAliases = Object.fromEntries(
  workspacePackages.map((name) => [`@finaegis/${name}`, resolve(root, `packages/${name}/src/index.ts`)]),
);

export function packageTestConfig(
  dir: string,
  overrides: { testTimeout?: number; hookTimeout?: number } = {},
) {
  return defineConfig({
    resolve: { alias: sourceAliases },
    test: {
      root: dir,
      include: ['test/**/*.test.ts'],
      testTimeout: overrides.testTimeout ?? 30_000,
      hookTimeout: overrides.hookTimeout ?? 60_000,
      reporters: ['default', ['json', { outputFile: resolve(dir, 'test-results/vitest.json') }]],
      // Fewer workers than the default: the machines we run on have two cores and the service tests
      // share one broker.
      maxWorkers: 2,
    },
  });
}

import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;
const workspacePackages = [
  'core',
  'memory',
  'contract-tests',
  'bullmq',
  'kafka',
  'keyv',
  'postgres',
  'opentelemetry',
  'testing',
];

/**
 * Tests run against the packages' sources (no build needed while developing); the packaging test
 * is the one place that checks the built `dist` as users install it.
 */
/** Subpath entries (`@finaegis/<package>/<subpath>`) and the source file each one builds from. */
const subpathEntries: Record<string, string> = {
  'core/adapter': 'packages/core/src/adapter/index.ts',
  'memory/testing': 'packages/memory/src/testing.ts',
  'kafka/testing': 'packages/kafka/src/testing.ts',
};

/** Exact-match aliases, so that `@finaegis/core` does not also catch `@finaegis/core/adapter`. */
export const sourceAliases = [
  ...Object.entries(subpathEntries).map(([name, file]) => ({
    find: new RegExp(`^@finaegis/${name}$`),
    replacement: resolve(root, file),
  })),
  ...workspacePackages.map((name) => ({
    find: new RegExp(`^@finaegis/${name}$`),
    replacement: resolve(root, `packages/${name}/src/index.ts`),
  })),
];

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

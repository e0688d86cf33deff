import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.ts';

const config = packageTestConfig(import.meta.dirname);

/**
 * The cluster tests (`pnpm test:cluster`): test/cluster/ against the three-broker cluster of
 * `node scripts/services.mjs up --kafka-cluster`. One file at a time, since they kill and restart
 * the nodes of the one cluster; their own report file, which scripts/run-tests.mjs counts.
 */
export default defineConfig({
  ...config,
  test: {
    ...config.test,
    include: ['test/cluster/**/*.test.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 300_000,
    hookTimeout: 180_000,
    reporters: [
      'default',
      ['json', { outputFile: resolve(import.meta.dirname, 'test-results/vitest-cluster.json') }],
    ],
  },
});

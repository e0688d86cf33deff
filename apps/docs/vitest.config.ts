import { defineConfig, mergeConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.ts';

// The checkers' own tests, and the example tests the pages show (examples/**/*.test.ts).
export default mergeConfig(
  packageTestConfig(import.meta.dirname),
  defineConfig({ test: { include: ['test/**/*.test.ts', 'examples/**/*.test.ts'] } }),
);

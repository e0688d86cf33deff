import { configDefaults, defineConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.ts';

const config = packageTestConfig(import.meta.dirname);

// test/cluster/ needs the three-broker cluster and runs on its own: `pnpm test:cluster`
// (vitest.cluster.config.ts), which `pnpm test` at the root runs when FINAEGIS_KAFKA_CLUSTER=1.
export default defineConfig({
  ...config,
  test: { ...config.test, exclude: [...configDefaults.exclude, 'test/cluster/**'] },
});

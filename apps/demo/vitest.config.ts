import { packageTestConfig } from '../../vitest.shared.ts';

// The browser and multi-process tests start servers and processes: they need more time than unit tests.
export default packageTestConfig(import.meta.dirname, { testTimeout: 180_000, hookTimeout: 120_000 });

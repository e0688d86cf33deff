import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig(import.meta.dirname, { testTimeout: 180_000, hookTimeout: 180_000 });

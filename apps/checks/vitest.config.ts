import { packageTestConfig } from '../../vitest.shared';

export default packageTestConfig(import.meta.dirname, { testTimeout: 180_000, hookTimeout: 180_000 });

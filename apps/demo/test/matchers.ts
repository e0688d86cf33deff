// The test kit's matchers on vitest's expect (imported by the tests that use them).
import { type FinaegisMatchers, finaegisMatchers } from '@finaegis/testing';
import { expect } from 'vitest';

expect.extend(finaegisMatchers);

declare module 'vitest' {
  interface Assertion<T> extends FinaegisMatchers<void> {}
}

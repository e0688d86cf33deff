// The kit's matchers on vitest's expect, as a user's setup file would add them.
import { expect } from 'vitest';
import { type FinaegisMatchers, finaegisMatchers } from '../src/index';

expect.extend(finaegisMatchers);

declare module 'vitest' {
  interface Assertion<T> extends FinaegisMatchers<void> {}
}

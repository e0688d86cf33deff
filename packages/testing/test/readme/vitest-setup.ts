import { type FinaegisMatchers, finaegisMatchers } from '@finaegis/testing';
import { expect } from 'vitest';

expect.extend(finaegisMatchers);

declare module 'vitest' {
  interface Assertion<T> extends FinaegisMatchers<void> {}
}

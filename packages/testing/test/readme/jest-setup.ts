import { type FinaegisMatchers, finaegisMatchers } from '@finaegis/testing';
import { expect } from 'expect';

expect.extend(finaegisMatchers);

declare module 'expect' {
  interface Matchers<R extends void | Promise<void>, T = unknown> extends FinaegisMatchers<R> {}
}

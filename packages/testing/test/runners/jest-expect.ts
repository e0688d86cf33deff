// jest's own `expect` (the `expect` package jest uses) taking the kit's matchers, typed the way a
// jest user declares them.
import { expect as jestExpect } from 'expect';
import { type FinaegisMatchers, finaegisMatchers } from '../../src/index';

jestExpect.extend(finaegisMatchers);

declare module 'expect' {
  interface Matchers<R extends void | Promise<void>, T = unknown> extends FinaegisMatchers<R> {}
}

export { jestExpect };

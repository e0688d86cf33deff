// jest's own `expect` (the `expect` package jest uses), with the matchers added and typed the way
// the README's jest setup does it.
import './../readme/jest-setup';

export { expect as jestExpect } from 'expect';

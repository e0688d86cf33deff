// The kit's matchers on vitest's expect, added the way the README's setup file adds them.
import './readme/vitest-setup';

// Unit tests: no Redis needed (the options are checked before a client is made).
import { ConfigError } from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { createBullmqTransport } from '../src/index';

describe('createBullmqTransport options', () => {
  test.each(['', 'a:b'])('refuses the prefix %j with a ConfigError naming the package', (prefix) => {
    expect(() => createBullmqTransport({ prefix })).toThrow(ConfigError);
    expect(() => createBullmqTransport({ prefix })).toThrow(
      expect.objectContaining({ adapter: '@finaegis/bullmq', key: 'prefix' }),
    );
  });

  test.each([
    ['lockDurationMs', 0],
    ['lockDurationMs', 1.5],
    ['stalledIntervalMs', -1],
  ])('refuses %s = %d with a ConfigError naming the package', (key, value) => {
    expect(() => createBullmqTransport({ [key]: value })).toThrow(
      expect.objectContaining({ name: 'ConfigError', adapter: '@finaegis/bullmq', key }),
    );
  });
});

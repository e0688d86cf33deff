// The adapter kit's additions made for the Kafka and BullMQ adapters (the older helpers are
// tested in transport-helpers.test.ts).
import { describe, expect, test } from 'vitest';
import { checkConsumeArguments, DEFAULT_RETRY_POLICY, isTransportMessage } from '../src/adapter';
import { InvalidArgumentError } from '../src/errors';

const ADAPTER = '@finaegis/test';

describe('checkConsumeArguments', () => {
  test('returns the consume options with their defaults filled in', () => {
    expect(checkConsumeArguments(ADAPTER, 'orders', async () => {}, { group: 'billing' })).toEqual({
      group: 'billing',
      concurrency: 1,
      retry: DEFAULT_RETRY_POLICY,
    });
  });

  test.each([
    ['channel', '', async () => {}, { group: 'g' }],
    ['channel', 42, async () => {}, { group: 'g' }],
    ['handler', 'c', 'not a function', { group: 'g' }],
    ['options', 'c', async () => {}, undefined],
    ['group', 'c', async () => {}, { group: '' }],
    ['concurrency', 'c', async () => {}, { group: 'g', concurrency: 0 }],
  ])(
    'refuses a bad %s with an InvalidArgumentError naming it and the adapter',
    (argument, channel, handler, options) => {
      let thrown: unknown;
      try {
        checkConsumeArguments(ADAPTER, channel, handler, options);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidArgumentError);
      expect(thrown).toMatchObject({ argument, adapter: ADAPTER });
    },
  );
});

describe('isTransportMessage', () => {
  test('accepts a message with or without a key', () => {
    expect(isTransportMessage({ id: '1', type: 't', body: '{}', headers: {} })).toBe(true);
    expect(isTransportMessage({ id: '1', type: 't', body: '{}', headers: { a: 'b' }, key: 'k' })).toBe(true);
  });

  test.each([
    ['a string', '{"id":"1"}'],
    ['null', null],
    ['an array', []],
    ['a number id', { id: 1, type: 't', body: '', headers: {} }],
    ['a missing body', { id: '1', type: 't', headers: {} }],
    ['missing headers', { id: '1', type: 't', body: '' }],
    ['a header that is not a string', { id: '1', type: 't', body: '', headers: { a: 1 } }],
    ['a key that is not a string', { id: '1', type: 't', body: '', headers: {}, key: 5 }],
  ])('refuses %s', (_, value) => {
    expect(isTransportMessage(value)).toBe(false);
  });
});

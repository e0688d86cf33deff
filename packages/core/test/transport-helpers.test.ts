import { FinAegisError, InvalidArgumentError, type TransportMessage } from '@finaegis/core';
import {
  checkChannelName,
  checkSendOptions,
  checkTransportMessage,
  DEFAULT_RETRY_POLICY,
  resolveConsumeOptions,
} from '@finaegis/core/adapter';
import { describe, expect, test } from 'vitest';

const ADAPTER = '@finaegis/test';

/** Runs `work`, expects an InvalidArgumentError and returns it for further checks. */
function refused(work: () => unknown): InvalidArgumentError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return error as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError, nothing was thrown');
}

const message = (): TransportMessage => ({
  id: 'm-1',
  type: 'test.Thing',
  body: '{"a":1}',
  headers: { trace: 'abc', note: 'ünïcødé ✓' },
});

describe('InvalidArgumentError', () => {
  test('names the adapter and the argument, and is a non-retryable FinAegisError', () => {
    const error = new InvalidArgumentError(ADAPTER, 'channel', 'must be a non-empty string', {
      cause: 'why',
    });
    expect(error).toBeInstanceOf(FinAegisError);
    expect(error.name).toBe('InvalidArgumentError');
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.retryable).toBe(false);
    expect(error.adapter).toBe(ADAPTER);
    expect(error.argument).toBe('channel');
    expect(error.cause).toBe('why');
    expect(error.message).toBe('[@finaegis/test] invalid channel: must be a non-empty string');
  });
});

describe('checkChannelName', () => {
  test('accepts a non-empty string', () => {
    expect(() => checkChannelName(ADAPTER, 'channel', 'orders')).not.toThrow();
  });

  test.each([[''], [undefined], [null], [7], [{}]])('refuses %j, naming the argument', (value) => {
    const error = refused(() => checkChannelName(ADAPTER, 'group', value));
    expect(error.argument).toBe('group');
    expect(error.adapter).toBe(ADAPTER);
    expect(error.message).toMatch(/^\[@finaegis\/test\] invalid group: must be a non-empty string, got /);
  });
});

describe('checkTransportMessage', () => {
  test('returns an equal copy that later changes to the original do not reach', () => {
    const original = { ...message(), key: 'k-1', headers: { trace: 'abc' } };
    const copy = checkTransportMessage(ADAPTER, original);
    expect(copy).toEqual(original);
    expect(copy).not.toBe(original);
    original.headers.trace = 'changed';
    (original as { body: string }).body = 'changed';
    expect(copy.headers.trace).toBe('abc');
    expect(copy.body).toBe('{"a":1}');
  });

  test('carries only the message fields, reads absent headers as {} and leaves out an absent key', () => {
    const copy = checkTransportMessage(ADAPTER, { id: 'x', type: '', body: '', extra: 1 });
    expect(copy).toEqual({ id: 'x', type: '', body: '', headers: {} });
    expect('key' in copy).toBe(false);
  });

  test('keeps a header named __proto__ as a header', () => {
    const copy = checkTransportMessage(ADAPTER, { ...message(), headers: JSON.parse('{"__proto__":"x"}') });
    expect(Object.keys(copy.headers)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(copy.headers)).toBe(Object.prototype);
  });

  test.each([
    ['message', null],
    ['message', 'text'],
    ['message', [message()]],
    ['message.id', { ...message(), id: 1 }],
    ['message.id', { ...message(), id: '' }],
    ['message.type', { ...message(), type: undefined }],
    ['message.body', { ...message(), body: { a: 1 } }],
    ['message.headers', { ...message(), headers: null }],
    ['message.headers', { ...message(), headers: ['a'] }],
    ['message.headers', { ...message(), headers: { a: 'ok', b: 2 } }],
    ['message.key', { ...message(), key: 5 }],
  ])('refuses a bad %s', (argument, value) => {
    expect(refused(() => checkTransportMessage(ADAPTER, value)).argument).toBe(argument);
  });

  test('says which header is wrong', () => {
    const error = refused(() =>
      checkTransportMessage(ADAPTER, { ...message(), headers: { ok: 'a', bad: 3 } }),
    );
    expect(error.message).toBe(
      '[@finaegis/test] invalid message.headers: header "bad" must be a string, got 3',
    );
  });
});

describe('checkSendOptions', () => {
  test('accepts absent, empty and valid options', () => {
    expect(() => checkSendOptions(ADAPTER, undefined)).not.toThrow();
    expect(() => checkSendOptions(ADAPTER, {})).not.toThrow();
    expect(() =>
      checkSendOptions(ADAPTER, { delayMs: 0, priority: -2.5, key: '', dedupeId: 'once' }),
    ).not.toThrow();
    expect(() => checkSendOptions(ADAPTER, { delayMs: 1500.5, priority: 10 })).not.toThrow();
  });

  test.each([
    ['options', null],
    ['options', 5],
    ['delayMs', { delayMs: -1 }],
    ['delayMs', { delayMs: Number.NaN }],
    ['delayMs', { delayMs: Number.POSITIVE_INFINITY }],
    ['delayMs', { delayMs: '10' }],
    ['priority', { priority: Number.NaN }],
    ['priority', { priority: Number.NEGATIVE_INFINITY }],
    ['priority', { priority: '1' }],
    ['key', { key: 1 }],
    ['dedupeId', { dedupeId: '' }],
    ['dedupeId', { dedupeId: 42 }],
  ])('refuses a bad %s', (argument, value) => {
    expect(refused(() => checkSendOptions(ADAPTER, value)).argument).toBe(argument);
  });
});

describe('resolveConsumeOptions', () => {
  test('fills in concurrency 1 and the default retry policy', () => {
    const resolved = resolveConsumeOptions(ADAPTER, { group: 'workers' });
    expect(resolved).toEqual({ group: 'workers', concurrency: 1, retry: DEFAULT_RETRY_POLICY });
  });

  test('keeps given values and returns a copy of the policy', () => {
    const retry = { attempts: 5, backoff: { type: 'fixed' as const, delayMs: 0, maxDelayMs: 10 } };
    const resolved = resolveConsumeOptions(ADAPTER, { group: 'g', concurrency: 8, retry });
    expect(resolved).toEqual({ group: 'g', concurrency: 8, retry });
    expect(resolved.retry).not.toBe(retry);
    expect(resolved.retry.backoff).not.toBe(retry.backoff);
  });

  test('takes a missing attempts or backoff from the default policy', () => {
    expect(resolveConsumeOptions(ADAPTER, { group: 'g', retry: { attempts: 2 } }).retry).toEqual({
      attempts: 2,
      backoff: DEFAULT_RETRY_POLICY.backoff,
    });
    const backoff = { type: 'exponential', delayMs: 5, maxDelayMs: Number.POSITIVE_INFINITY };
    expect(resolveConsumeOptions(ADAPTER, { group: 'g', retry: { backoff } }).retry).toEqual({
      attempts: DEFAULT_RETRY_POLICY.attempts,
      backoff,
    });
  });

  test.each([
    ['options', undefined],
    ['options', 'g'],
    ['group', {}],
    ['group', { group: '' }],
    ['group', { group: 3 }],
    ['concurrency', { group: 'g', concurrency: 0 }],
    ['concurrency', { group: 'g', concurrency: 1.5 }],
    ['concurrency', { group: 'g', concurrency: Number.NaN }],
    ['concurrency', { group: 'g', concurrency: '2' }],
    ['retry', { group: 'g', retry: null }],
    ['retry.attempts', { group: 'g', retry: { attempts: 0 } }],
    ['retry.attempts', { group: 'g', retry: { attempts: 2.5 } }],
    ['retry.backoff', { group: 'g', retry: { attempts: 1, backoff: 'fixed' } }],
    ['retry.backoff.type', { group: 'g', retry: { attempts: 1, backoff: { type: 'linear', delayMs: 1 } } }],
    [
      'retry.backoff.delayMs',
      { group: 'g', retry: { attempts: 1, backoff: { type: 'fixed', delayMs: -1 } } },
    ],
    ['retry.backoff.delayMs', { group: 'g', retry: { attempts: 1, backoff: { type: 'fixed' } } }],
    [
      'retry.backoff.delayMs',
      { group: 'g', retry: { attempts: 1, backoff: { type: 'fixed', delayMs: Number.POSITIVE_INFINITY } } },
    ],
    [
      'retry.backoff.maxDelayMs',
      { group: 'g', retry: { attempts: 1, backoff: { type: 'fixed', delayMs: 1, maxDelayMs: -1 } } },
    ],
    [
      'retry.backoff.maxDelayMs',
      { group: 'g', retry: { attempts: 1, backoff: { type: 'fixed', delayMs: 1, maxDelayMs: Number.NaN } } },
    ],
  ])('refuses a bad %s', (argument, value) => {
    const error = refused(() => resolveConsumeOptions(ADAPTER, value));
    expect(error.argument).toBe(argument);
    expect(error.message.startsWith(`[${ADAPTER}] invalid ${argument}: `)).toBe(true);
  });
});

// Unit tests of the record formats (no broker): how a record is read, and what a send writes.
import { ConfigError, ENVELOPE_CONTENT_TYPE, InvalidArgumentError, MessageDecodeError } from '@finaegis/core';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { describe, expect, test } from 'vitest';
import { decodeRecord, encodeRecord } from '../src/kafka-wire';
import { resolveSendFormats } from '../src/send-formats';

function record(value: string | null, key: string | null, headers: IHeaders = {}): KafkaMessage {
  return {
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    headers,
    timestamp: '1767225600000',
    attributes: 0,
    offset: '0',
  };
}

const ours = JSON.stringify({
  id: 'm-1',
  type: 't',
  body: 'b',
  headers: { a: 'value', b: 'value' },
  key: 'in-value',
});

describe('reading a record', () => {
  test("the record key wins over the value's; record headers join the value's (which win a tie); the transport's own stay out", () => {
    const { message, format } = decodeRecord(
      record(ours, 'in-record', {
        a: Buffer.from('record'),
        c: [Buffer.from('first'), Buffer.from('last')],
        'finaegis-id': Buffer.from('m-1'),
        'finaegis-wire': Buffer.from('1'),
      }),
    );
    expect(format).toBe('finaegis');
    expect(message).toEqual({
      id: 'm-1',
      type: 't',
      body: 'b',
      key: 'in-record',
      headers: { a: 'value', b: 'value', c: 'last' },
    });
  });

  test("without a record key (or with an empty one) the value's key is the key", () => {
    expect(decodeRecord(record(ours, null)).message.key).toBe('in-value');
    expect(decodeRecord(record(ours, '')).message.key).toBe('in-value');
  });

  test('a record of a newer wire version is a MessageDecodeError naming the version', () => {
    expect(() => decodeRecord(record(ours, null, { 'finaegis-wire': Buffer.from('2') }))).toThrow(
      expect.objectContaining({ name: 'MessageDecodeError', message: expect.stringContaining('"2"') }),
    );
  });

  test('a structured CloudEvent is read even without its content-type header; another event format is refused', () => {
    const event = JSON.stringify({ specversion: '1.0', id: 'e', source: '/s', type: 'T', data: { n: 1 } });
    const { message, format } = decodeRecord(record(event, 'k'));
    expect(format).toBe('cloudevents-structured');
    expect(message).toMatchObject({ id: 'e', type: 'T', key: 'k' });
    expect(message.headers['content-type']).toBe(ENVELOPE_CONTENT_TYPE);
    expect(() =>
      decodeRecord(record(event, 'k', { 'content-type': Buffer.from('application/cloudevents+avro') })),
    ).toThrow(MessageDecodeError);
  });

  test('our wire header wins over ce_ headers a message happened to carry', () => {
    const { format } = decodeRecord(
      record(ours, null, { 'finaegis-wire': Buffer.from('1'), ce_specversion: Buffer.from('1.0') }),
    );
    expect(format).toBe('finaegis');
  });
});

describe('writing a record', () => {
  const message = { id: 'm-1', type: 't', body: 'x', headers: { trace: 't-1', ce_x: 'no' } };

  test('our format: every promised header, and the message headers but ce_ and finaegis- ones', () => {
    const written = encodeRecord(message, 'k', 'finaegis', '');
    expect(written.key).toBe('k');
    expect(written.headers).toEqual({
      trace: 't-1',
      'finaegis-id': 'm-1',
      'finaegis-type': 't',
      'finaegis-wire': '1',
    });
    expect(decodeRecord(record(String(written.value), 'k', written.headers)).message).toEqual({
      ...message,
      key: 'k',
    });
  });

  test('a CloudEvents channel refuses headers named like attributes or like ours', () => {
    expect(() => encodeRecord(message, 'k', 'cloudevents-binary', '/s')).toThrow(InvalidArgumentError);
    expect(() =>
      encodeRecord({ ...message, headers: { 'finaegis-x': '1' } }, 'k', 'cloudevents-structured', '/s'),
    ).toThrow(InvalidArgumentError);
  });
});

describe('the cloudEvents option', () => {
  test('names the channels that send CloudEvents; others send ours', () => {
    const formatOf = resolveSendFormats({ channels: { events: 'binary' }, source: '/x' });
    expect(formatOf('events')).toEqual({ format: 'cloudevents-binary', source: '/x' });
    expect(formatOf('commands').format).toBe('finaegis');
    expect(resolveSendFormats({ channels: () => 'structured' })('c')).toEqual({
      format: 'cloudevents-structured',
      source: '/finaegis/c',
    });
  });

  test.each([
    [{ channels: { events: 'avro' } }, 'cloudEvents.channels.events'],
    [{ channels: {}, source: '' }, 'cloudEvents.source'],
    [{ channels: 'events' }, 'cloudEvents'],
  ])('refuses %j with a ConfigError naming %s', (options, key) => {
    expect(() => resolveSendFormats(options as never)).toThrow(ConfigError);
    expect(() => resolveSendFormats(options as never)).toThrow(expect.objectContaining({ key }));
  });

  test('a mode a channels function returns is checked when the channel is first used', () => {
    const formatOf = resolveSendFormats({ channels: () => 'json' as never });
    expect(() => formatOf('c')).toThrow(expect.objectContaining({ key: 'cloudEvents.channels.c' }));
  });
});

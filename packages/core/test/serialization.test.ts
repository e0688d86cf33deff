import {
  CommandValidationError,
  decodeJson,
  encodeJson,
  idTime,
  MessageDecodeError,
  MessageRegistry,
  newId,
  UnknownMessageTypeError,
} from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { OrderPlaced, PlaceOrderCommand } from './domain';

describe('ids', () => {
  test('ULIDs sort in creation order, even within one millisecond, and carry their time', () => {
    const now = Date.UTC(2026, 10, 25);
    const ids = Array.from({ length: 1000 }, () => newId(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
    expect(ids.every((id) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
    expect(idTime(ids[0]!)).toBe(now);
  });
});

describe('encodeJson / decodeJson', () => {
  test('keeps dates, bigints, decimal strings and unicode', () => {
    const value = {
      at: new Date('2026-11-25T10:00:00.123Z'),
      big: 12345678901234567890n,
      amount: '0.10000000',
      name: 'Zürich 🚀',
    };
    const back = decodeJson(encodeJson(value)) as typeof value;
    expect(back.at).toBeInstanceOf(Date);
    expect(back.at.toISOString()).toBe('2026-11-25T10:00:00.123Z');
    expect(back.big).toBe(12345678901234567890n);
    expect(back.amount).toBe('0.10000000');
    expect(back.name).toBe('Zürich 🚀');
  });

  test.each(['{"__proto__":{"polluted":true}}', '{"a":{"constructor":{"prototype":{}}}}', '{"prototype":1}'])(
    'rejects forbidden keys: %s',
    (text) => {
      expect(() => decodeJson(text)).toThrow(MessageDecodeError);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );

  test('not JSON → MessageDecodeError', () => {
    expect(() => decodeJson('{nope')).toThrow(MessageDecodeError);
  });
});

describe('MessageRegistry', () => {
  test('round-trips a command with id, timestamp, metadata and fields', () => {
    const registry = new MessageRegistry().register(PlaceOrderCommand);
    const command = new PlaceOrderCommand('u-1', 'BTC/USD', '0.25').withMetadata({
      user: 'u-1',
      traceId: 't',
    });
    const back = registry.decode(registry.encode(command, 'command'));
    expect(back).toBeInstanceOf(PlaceOrderCommand);
    expect(back).toEqual(command);
    expect(back.messageId).toBe(command.messageId);
    expect(back.timestamp).toEqual(command.timestamp);
    expect(back.metadata).toEqual({ user: 'u-1', traceId: 't' });
  });

  test('round-trips an event with its identity', () => {
    const registry = new MessageRegistry().register(OrderPlaced);
    const event = new OrderPlaced('o-1', 'u-1', { version: 3, correlationId: 'c', causationId: 'k' });
    const back = registry.decode(registry.encode(event, 'event')) as OrderPlaced;
    expect(back).toBeInstanceOf(OrderPlaced);
    expect(back.toArray()).toEqual(event.toArray());
    expect(back.toArray()).toMatchObject({
      event_type: 'OrderPlaced',
      aggregate_id: 'o-1',
      aggregate_type: 'Order',
      version: 3,
      correlation_id: 'c',
      causation_id: 'k',
      payload: { orderId: 'o-1', userId: 'u-1' },
    });
  });

  test('builds registered classes only', () => {
    const producer = new MessageRegistry().register(PlaceOrderCommand);
    const text = producer.encode(new PlaceOrderCommand('u', 'BTC/USD', '1'), 'command');
    expect(() => new MessageRegistry().decode(text)).toThrow(UnknownMessageTypeError);
  });

  test('malformed envelopes and forbidden keys are typed errors', () => {
    const registry = new MessageRegistry().register(PlaceOrderCommand);
    expect(() => registry.decode('[]')).toThrow(MessageDecodeError);
    expect(() => registry.decode('{"v":1,"id":"x"}')).toThrow(/invalid envelope/);
    const good = JSON.parse(registry.encode(new PlaceOrderCommand('u', 'BTC/USD', '1'), 'command'));
    const poisoned = JSON.stringify({
      ...good,
      payload: { ...good.payload, ['__proto__']: { admin: true } },
    }).replace('"admin"', '"admin"');
    expect(() =>
      registry.decode(poisoned.replace('"payload":{', '"payload":{"__proto__":{"admin":true},')),
    ).toThrow(MessageDecodeError);
  });

  test('a received command is validated like a local one', () => {
    const registry = new MessageRegistry().register(PlaceOrderCommand);
    const text = registry
      .encode(new PlaceOrderCommand('u', 'BTC/USD', '1'), 'command')
      .replace('"1"', '"-1"');
    expect(() => registry.decode(text)).toThrow(CommandValidationError);
  });

  test('two classes cannot claim one wire name', () => {
    class Other extends OrderPlaced {
      static override readonly messageType = 'OrderPlaced';
    }
    expect(() => new MessageRegistry().register(OrderPlaced, Other)).toThrow(UnknownMessageTypeError);
  });
});

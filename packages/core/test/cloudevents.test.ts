// The CloudEvents mapping of the adapter kit: our envelope to CloudEvents attributes and back,
// byte for byte, and CloudEvents written by others read as messages a worker can decode.
import {
  ENVELOPE_CONTENT_TYPE,
  MessageDecodeError,
  MessageRegistry,
  type TransportMessage,
} from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import {
  type CloudEvent,
  decodeStructuredCloudEvent,
  encodeStructuredCloudEvent,
  fromCloudEvent,
  toCloudEvent,
} from '../src/adapter';
import { DomainEvent } from '../src/messages';
import { PlaceOrderCommand } from './domain';

class FundsReserved extends DomainEvent {
  static readonly messageType = 'exchange.FundsReserved';
  constructor(
    readonly accountId: string,
    readonly amount: string,
    readonly at: Date,
    init = {},
  ) {
    super(init);
  }
}

const registry = new MessageRegistry().register(FundsReserved, PlaceOrderCommand);

function transportMessage(body: string, id: string, type: string, extra: Record<string, string> = {}) {
  return { id, type, body, headers: { 'content-type': ENVELOPE_CONTENT_TYPE, ...extra } };
}

function anEvent(): { event: FundsReserved; message: TransportMessage } {
  const event = new FundsReserved('acc-1', '12.50', new Date('2026-01-02T03:04:05.678Z'), {
    aggregateId: 'acc-1',
    aggregateType: 'Account',
    version: 7,
    correlationId: 'corr-1',
    causationId: 'cause-1',
    occurredAt: new Date('2026-03-04T05:06:07.089Z'),
    metadata: { tenant: 'ß-1', nested: { n: 1 } },
  });
  const body = registry.encode(event, 'event');
  return {
    event,
    message: transportMessage(body, event.eventId, 'exchange.FundsReserved', { traceparent: 't' }),
  };
}

/** What a binding does: structured mode through its JSON text, binary mode with data as text. */
function throughStructured(event: CloudEvent): CloudEvent {
  return decodeStructuredCloudEvent(encodeStructuredCloudEvent(event));
}
function throughBinary(event: CloudEvent): CloudEvent {
  const { data } = event;
  const attributes = Object.fromEntries(Object.entries(event.attributes).map(([k, v]) => [k, String(v)]));
  if (data === undefined) return { attributes, data };
  return { attributes, data: 'text' in data ? data : { text: JSON.stringify(data.json) } };
}

describe('toCloudEvent / fromCloudEvent', () => {
  test('an event envelope maps onto the attributes of the table', () => {
    const { message } = anEvent();
    const { event, headers } = toCloudEvent(message, { source: '/exchange', key: 'acc-1' });
    expect(headers).toEqual({ traceparent: 't' });
    expect(event.attributes).toEqual({
      specversion: '1.0',
      id: message.id,
      source: '/exchange',
      type: 'exchange.FundsReserved',
      time: '2026-03-04T05:06:07.089Z',
      datacontenttype: 'application/json',
      subject: 'acc-1',
      finaegiskind: 'event',
      finaegismetadata: '{"tenant":"ß-1","nested":{"n":1}}',
      aggregatetype: 'Account',
      aggregateversion: 7,
      correlationid: 'corr-1',
      causationid: 'cause-1',
      partitionkey: 'acc-1',
    });
    expect(event.data).toEqual({
      json: { accountId: 'acc-1', amount: '12.50', at: { $date: '2026-01-02T03:04:05.678Z' } },
    });
  });

  test.each([
    ['structured', throughStructured],
    ['binary', throughBinary],
  ])('an event comes back byte for byte through %s mode, and decodes to an equal event', (_, through) => {
    const { event: original, message } = anEvent();
    const { event, headers } = toCloudEvent(message, { source: '/exchange', key: 'acc-1' });
    const back = fromCloudEvent(through(event), { headers });
    expect(back.body).toBe(message.body);
    expect(back.key).toBe('acc-1');
    // Our extensions mark it as ours: it comes back with exactly its headers, no ce_ ones.
    expect(back.headers).toEqual(message.headers);
    const decoded = registry.decode(back.body) as FundsReserved;
    expect(decoded).toBeInstanceOf(FundsReserved);
    expect(decoded.eventId).toBe(original.eventId);
    expect(decoded.version).toBe(7);
    expect(decoded.correlationId).toBe('corr-1');
    expect(decoded.at).toEqual(original.at);
    expect(decoded.metadata).toEqual({ tenant: 'ß-1', nested: { n: 1 } });
  });

  test('a command envelope round-trips too, with finaegiskind command and no subject', () => {
    const command = new PlaceOrderCommand('u-1', 'BTC/USD', '0.5');
    const message = transportMessage(
      registry.encode(command, 'command'),
      command.commandId,
      'PlaceOrderCommand',
    );
    const { event, headers } = toCloudEvent(message, { source: '/x' });
    expect(event.attributes.finaegiskind).toBe('command');
    expect(event.attributes.subject).toBeUndefined();
    expect(event.attributes.partitionkey).toBeUndefined();
    expect(fromCloudEvent(throughBinary(event), { headers }).body).toBe(message.body);
  });

  test.each([
    ['text that is not JSON', 'plain text ü', {}],
    ['JSON that is not an envelope', '{"orderId":"o-1"}', {}],
    ['an envelope without our content type', anEvent().message.body, { 'content-type': 'application/json' }],
  ])('%s travels raw, marked finaegisrawbody, and comes back as it was', (_, body, headers) => {
    const message = { id: 'm-1', type: 't', body, headers: { a: 'b', ...headers } };
    for (const through of [throughBinary, throughStructured]) {
      const { event, headers: rest } = toCloudEvent(message, { source: '/x', key: 'k' });
      expect(String(event.attributes.finaegisrawbody)).toBe('true');
      const back = fromCloudEvent(through(event), { headers: rest });
      expect(back.body).toBe(body);
      expect(back.key).toBe('k');
      expect(back.headers).toEqual(message.headers);
    }
  });

  test('an envelope whose id differs from the message id travels raw (one id per CloudEvent)', () => {
    const { message } = anEvent();
    const { event } = toCloudEvent({ ...message, id: 'other' }, { source: '/x' });
    expect(event.attributes.finaegisrawbody).toBe(true);
  });

  test('a foreign event becomes an envelope the registry decodes; the record key wins over partitionkey', () => {
    const foreign: CloudEvent = {
      attributes: {
        specversion: '1.0',
        id: 'ext-1',
        source: 'urn:java:billing',
        type: 'exchange.FundsReserved',
        time: '2026-05-06T07:08:09.123456Z',
        subject: 'acc-9',
        correlationid: 'c-9',
        partitionkey: 'not-this',
        region: 'eu',
      },
      data: { text: '{"accountId":"acc-9","amount":"1.00","at":{"$date":"2026-01-01T00:00:00.000Z"}}' },
    };
    const message = fromCloudEvent(foreign, { key: 'acc-9', headers: { origin: 'java' } });
    expect(message).toMatchObject({ id: 'ext-1', type: 'exchange.FundsReserved', key: 'acc-9' });
    expect(message.headers).toMatchObject({
      origin: 'java',
      'content-type': ENVELOPE_CONTENT_TYPE,
      ce_source: 'urn:java:billing',
      ce_region: 'eu',
      ce_partitionkey: 'not-this',
    });
    const event = registry.decode(message.body) as FundsReserved;
    expect(event.eventId).toBe('ext-1');
    expect(event.aggregateId).toBe('acc-9');
    expect(event.version).toBe(0);
    expect(event.correlationId).toBe('c-9');
    expect(event.occurredAt.toISOString()).toBe('2026-05-06T07:08:09.123Z');
    expect(event.amount).toBe('1.00');
  });

  test('without a protocol key, partitionkey is the key; without time, the protocol time is', () => {
    const message = fromCloudEvent(
      {
        attributes: { specversion: '1.0', id: 'e', source: '/s', type: 'T', partitionkey: 'pk' },
        data: undefined,
      },
      { headers: {}, time: 1_700_000_000_000 },
    );
    expect(message.key).toBe('pk');
    expect(JSON.parse(message.body)).toMatchObject({
      timestamp: 1_700_000_000_000,
      payload: {},
      kind: 'event',
    });
  });

  test.each<[string, Partial<Record<string, string | number | boolean>>, CloudEvent['data']]>([
    ['specversion', { specversion: '0.3' }, undefined],
    ['has no id', { id: '' }, undefined],
    ['has no source', { source: undefined as unknown as string }, undefined],
    ['not JSON', {}, { text: 'nope' }],
    ['JSON object', {}, { text: '[1,2]' }],
    ['content type', { datacontenttype: 'application/avro' }, { text: 'x' }],
    ['RFC 3339', { time: 'yesterday' }, undefined],
    ['aggregateversion', { aggregateversion: '1.5' }, undefined],
    ['finaegiskind', { finaegiskind: 'query-ish' }, undefined],
    ['finaegismetadata', { finaegismetadata: '[1]' }, undefined],
  ])('an event that is wrong (%s) is a MessageDecodeError naming it', (what, change, data) => {
    const attributes: Record<string, string | number | boolean | undefined> = {
      specversion: '1.0',
      id: 'e',
      source: '/s',
      type: 'T',
      ...change,
    };
    for (const [name, value] of Object.entries(attributes)) if (value === undefined) delete attributes[name];
    let thrown: unknown;
    try {
      fromCloudEvent({ attributes: attributes as CloudEvent['attributes'], data }, { headers: {} });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MessageDecodeError);
    expect((thrown as Error).message).toContain(what);
  });
});

describe('the JSON event format', () => {
  test('reads data_base64, drops null attributes and refuses attributes that are not scalars', () => {
    const event = decodeStructuredCloudEvent(
      JSON.stringify({
        specversion: '1.0',
        id: 'e',
        subject: null,
        data_base64: Buffer.from('{"a":1}').toString('base64'),
      }),
    );
    expect(event).toEqual({ attributes: { specversion: '1.0', id: 'e' }, data: { text: '{"a":1}' } });
    expect(() => decodeStructuredCloudEvent('{"id":{"x":1}}')).toThrow(MessageDecodeError);
    expect(() => decodeStructuredCloudEvent('[]')).toThrow(MessageDecodeError);
    expect(() => decodeStructuredCloudEvent('{')).toThrow(MessageDecodeError);
  });

  test('keeps text data of a type that is not JSON as a string', () => {
    const event = decodeStructuredCloudEvent('{"datacontenttype":"text/plain","data":"hi"}');
    expect(event.data).toEqual({ text: 'hi' });
  });
});

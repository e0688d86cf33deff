/*
 * Records and messages (WIRE-FORMAT.md says the same for readers outside this code): the record a
 * send writes in each wire format, and the message a record of any of them is read as. On consume
 * the record key is the message's key (the JSON value's own `key` only when the record has none),
 * and the record's headers reach the handler beside the value's.
 */
import { InvalidArgumentError, MessageDecodeError, type TransportMessage } from '@finaegis/core';
import {
  CLOUDEVENTS_HEADER_PREFIX,
  CLOUDEVENTS_JSON_CONTENT_TYPE,
  type CloudEvent,
  type CloudEventValue,
  decodeStructuredCloudEvent,
  decodeTransportMessage,
  encodeStructuredCloudEvent,
  encodeTransportMessage,
  fromCloudEvent,
  toCloudEvent,
} from '@finaegis/core/adapter';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { ADAPTER } from './kafka-options';

/** The version of our wire format that this code writes, and the newest it reads. */
export const WIRE_VERSION = 1;
/** Header with the wire format version, on every record in our own format. */
export const WIRE_HEADER = 'finaegis-wire';
/** Header with the message id, on every record the transport writes to a channel topic. */
export const ID_HEADER = 'finaegis-id';
/** Header with the message type, on every record the transport writes to a channel topic. */
export const TYPE_HEADER = 'finaegis-type';
/** Record header naming the only group that should handle a re-driven record. */
export const TARGET_GROUP_HEADER = 'finaegis-redrive-group';
/** Header names reserved for the transport; never handed to handlers as message headers. */
export const RESERVED_PREFIX = 'finaegis-';

/** How a channel's sends are written. Consumers read all three. */
export type SendFormat = 'finaegis' | 'cloudevents-binary' | 'cloudevents-structured';
/** What a record was read as (`undecodable`: none of them). */
export type RecordFormat = SendFormat | 'undecodable';

const WIRE_VERSION_TEXT = String(WIRE_VERSION);
const CE_SPECVERSION_HEADER = `${CLOUDEVENTS_HEADER_PREFIX}specversion`;

/** A header's value as text: the last one when the header repeats (as Kafka's Java client reads it). */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return last === undefined ? undefined : last.toString();
}

/**
 * The record of a send. `key` is the partition key (`SendOptions.key ?? message.key`). Every
 * record carries `finaegis-id` and `finaegis-type`; one in our format also `finaegis-wire` and the
 * message's headers (but those starting with `finaegis-` or `ce_`, which stay in the value only).
 * @throws InvalidArgumentError for a header starting with `finaegis-` or `ce_` on a CloudEvents
 *   channel (there the headers are the only place for them, and those names are the transport's).
 */
export function encodeRecord(
  message: TransportMessage,
  key: string | undefined,
  format: SendFormat,
  source: string,
): Message {
  if (format === 'finaegis') {
    const headers: IHeaders = {};
    for (const name in message.headers) {
      if (!name.startsWith(RESERVED_PREFIX) && !name.startsWith(CLOUDEVENTS_HEADER_PREFIX)) {
        headers[name] = message.headers[name];
      }
    }
    headers[ID_HEADER] = message.id;
    headers[TYPE_HEADER] = message.type;
    headers[WIRE_HEADER] = WIRE_VERSION_TEXT;
    return { key: key ?? null, value: encodeTransportMessage(message), headers };
  }
  for (const name in message.headers) {
    if (name.startsWith(RESERVED_PREFIX) || name.startsWith(CLOUDEVENTS_HEADER_PREFIX)) {
      throw new InvalidArgumentError(
        ADAPTER,
        'message.headers',
        `may not hold ${JSON.stringify(name)} on a CloudEvents channel: names starting with "${RESERVED_PREFIX}" or "${CLOUDEVENTS_HEADER_PREFIX}" are the transport's`,
      );
    }
  }
  const { event, headers: plain } = toCloudEvent(message, key === undefined ? { source } : { source, key });
  const headers: IHeaders = { ...plain };
  let value: string | null;
  if (format === 'cloudevents-structured') {
    headers['content-type'] = CLOUDEVENTS_JSON_CONTENT_TYPE;
    value = encodeStructuredCloudEvent(event);
  } else {
    for (const [name, attribute] of Object.entries(event.attributes)) {
      if (name === 'datacontenttype') headers['content-type'] = String(attribute);
      else headers[CLOUDEVENTS_HEADER_PREFIX + name] = String(attribute);
    }
    const { data } = event;
    value = data === undefined ? null : 'text' in data ? data.text : JSON.stringify(data.json);
  }
  headers[ID_HEADER] = message.id;
  headers[TYPE_HEADER] = message.type;
  return { key: key ?? null, value, headers };
}

/** The record key as a message key: its UTF-8 text, none when null or empty. */
function recordKey(record: KafkaMessage): string | undefined {
  if (record.key === null || record.key.length === 0) return undefined;
  return record.key.toString('utf8');
}

/**
 * The record's headers that are message headers: all but the transport's own (`finaegis-`), and
 * but `ce_` ones and `content-type` when `cloudEvent` (those are the event's attributes).
 */
function plainHeaders(
  headers: IHeaders | undefined,
  cloudEvent: boolean,
): Record<string, string> | undefined {
  let plain: Record<string, string> | undefined;
  for (const name in headers) {
    if (name.startsWith(RESERVED_PREFIX)) continue;
    if (cloudEvent && (name === 'content-type' || name.startsWith(CLOUDEVENTS_HEADER_PREFIX))) continue;
    const value = headerText(headers, name);
    if (value === undefined) continue;
    plain ??= {};
    plain[name] = value;
  }
  return plain;
}

/**
 * A record in our format: the JSON value, keyed by the record key (the value's `key` only when the
 * record has none), with the record's headers added to the value's. Where both name a header the
 * value's wins: it is what the sender wrote, while record headers may have been rewritten on the
 * way (a tracing instrumentation of the Kafka client replaces `traceparent` with its own span).
 */
function decodeOurs(record: KafkaMessage, text: string): TransportMessage {
  const message = decodeTransportMessage(text);
  const key = recordKey(record) ?? message.key;
  const fromRecord = plainHeaders(record.headers, false);
  const headers = fromRecord === undefined ? message.headers : { ...fromRecord, ...message.headers };
  const { id, type, body } = message;
  return key === undefined ? { id, type, body, headers } : { id, type, body, headers, key };
}

function decodeBinary(record: KafkaMessage): TransportMessage {
  const attributes: Record<string, CloudEventValue> = {};
  for (const name in record.headers) {
    if (!name.startsWith(CLOUDEVENTS_HEADER_PREFIX)) continue;
    const value = headerText(record.headers, name);
    if (value !== undefined) attributes[name.slice(CLOUDEVENTS_HEADER_PREFIX.length).toLowerCase()] = value;
  }
  const contentType = headerText(record.headers, 'content-type');
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  const event: CloudEvent = {
    attributes,
    data: record.value === null ? undefined : { text: record.value.toString('utf8') },
  };
  return fromCloudEvent(event, cloudEventContext(record));
}

function decodeStructured(record: KafkaMessage, text: string): TransportMessage {
  return fromCloudEvent(decodeStructuredCloudEvent(text, ADAPTER), cloudEventContext(record));
}

function cloudEventContext(record: KafkaMessage) {
  const key = recordKey(record);
  const time = Number(record.timestamp);
  return {
    headers: plainHeaders(record.headers, true) ?? {},
    adapter: ADAPTER,
    ...(key === undefined ? {} : { key }),
    ...(Number.isFinite(time) && time > 0 ? { time } : {}),
  };
}

function looksStructured(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && 'specversion' in value && !('body' in value);
  } catch {
    return false;
  }
}

/**
 * The message a record carries, and which format it was in: ours (`finaegis-wire`, or no marker of
 * another format), a CloudEvent in binary mode (a `ce_specversion` header) or in structured mode
 * (`content-type: application/cloudevents…`, or a JSON value with `specversion` and no `body`).
 * @throws MessageDecodeError when it is none of them, or a wire version newer than this code reads.
 */
export function decodeRecord(record: KafkaMessage): { message: TransportMessage; format: SendFormat } {
  const headers = record.headers;
  const text = record.value === null ? '' : record.value.toString('utf8');
  const wire = headers?.[WIRE_HEADER] === undefined ? undefined : headerText(headers, WIRE_HEADER);
  if (wire !== undefined) {
    if (wire !== WIRE_VERSION_TEXT) {
      throw new MessageDecodeError(
        `wire format version ${JSON.stringify(wire)} is not one this consumer reads (${WIRE_VERSION})`,
        { adapter: ADAPTER },
      );
    }
    return { message: decodeOurs(record, text), format: 'finaegis' };
  }
  if (headers?.[CE_SPECVERSION_HEADER] !== undefined) {
    return { message: decodeBinary(record), format: 'cloudevents-binary' };
  }
  const contentType =
    headers?.['content-type'] === undefined ? undefined : headerText(headers, 'content-type');
  if (contentType?.toLowerCase().startsWith('application/cloudevents')) {
    const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
    if (type !== 'application/cloudevents+json') {
      throw new MessageDecodeError(`CloudEvents format ${type} is not supported (only +json)`, {
        adapter: ADAPTER,
      });
    }
    return { message: decodeStructured(record, text), format: 'cloudevents-structured' };
  }
  try {
    return { message: decodeOurs(record, text), format: 'finaegis' };
  } catch (error) {
    if (looksStructured(text))
      return { message: decodeStructured(record, text), format: 'cloudevents-structured' };
    throw error;
  }
}

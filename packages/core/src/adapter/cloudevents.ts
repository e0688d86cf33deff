/*
 * CloudEvents 1.0 for transport adapters: the one mapping between a transport message whose body
 * is our envelope (`MessageRegistry.encode`) and a CloudEvent's attributes and data, and the JSON
 * event format of structured mode. Which attribute goes into which protocol header is a protocol
 * binding's business (the Kafka adapter has one); this file knows no protocol.
 *
 * | envelope                     | CloudEvents                                   |
 * | ---------------------------- | --------------------------------------------- |
 * | `id`                         | `id`                                          |
 * | `type`                       | `type`                                        |
 * | `timestamp` (ms)             | `time` (RFC 3339, milliseconds, UTC)          |
 * | `payload`                    | `data`, `datacontenttype: application/json`   |
 * | `kind`                       | extension `finaegiskind` (default `event`)    |
 * | `metadata` (when not empty)  | extension `finaegismetadata` (its JSON text)  |
 * | `event.aggregateId`          | `subject`                                     |
 * | `event.aggregateType`        | extension `aggregatetype`                     |
 * | `event.version`              | extension `aggregateversion` (Integer)        |
 * | `event.correlationId`        | extension `correlationid` (Correlation)       |
 * | `event.causationId`          | extension `causationid` (Correlation)         |
 * | partition key                | extension `partitionkey` (Partitioning)       |
 * | (the sender's option)        | `source`                                      |
 *
 * A body that is not such an envelope travels as it is, as `data`, marked `finaegisrawbody`.
 */
import { ENVELOPE_CONTENT_TYPE } from '../buses/shared';
import { MessageDecodeError } from '../errors/message-decode-error';
import type { TransportMessage } from '../ports/transport';

/** The CloudEvents version written and read. */
export const CLOUDEVENTS_SPEC_VERSION = '1.0';

/** Media type of a structured-mode CloudEvent in the JSON event format. */
export const CLOUDEVENTS_JSON_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

/** Prefix of the headers that hold CloudEvents attributes, on the wire and in received messages. */
export const CLOUDEVENTS_HEADER_PREFIX = 'ce_';

/** A CloudEvents attribute value (String, Integer, Boolean; other types travel as strings). */
export type CloudEventValue = string | number | boolean;

/** A CloudEvent's data: text as it travels (binary mode), or a JSON value (structured mode). */
export type CloudEventData = { readonly text: string } | { readonly json: unknown };

/** A CloudEvent: every attribute but `data` (names lower case, as the spec has them), and its data. */
export interface CloudEvent {
  readonly attributes: Readonly<Record<string, CloudEventValue>>;
  readonly data: CloudEventData | undefined;
}

/** What a protocol binding knows beside the event when it hands one to `fromCloudEvent`. */
export interface CloudEventContext {
  /** The protocol's own partition key (Kafka: the record key); wins over `partitionkey`. */
  readonly key?: string;
  /** The protocol headers that are not attributes (no `ce_` ones, no `content-type`). */
  readonly headers: Readonly<Record<string, string>>;
  /** When the protocol says the event was written (ms): the `time` of an event without one. */
  readonly time?: number;
  /** Adapter name for errors. */
  readonly adapter?: string;
}

type Kind = 'command' | 'query' | 'event';
const KINDS: ReadonlySet<string> = new Set<Kind>(['command', 'query', 'event']);

/** An envelope taken apart: what `envelopeText` puts back together. */
interface EnvelopeParts {
  readonly id: string;
  readonly type: string;
  readonly kind: Kind;
  readonly timestamp: number;
  readonly metadata: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly event?: {
    readonly aggregateId: string;
    readonly aggregateType: string;
    readonly version: number;
    readonly correlationId?: string;
    readonly causationId?: string;
  };
}

const ENVELOPE_KEYS = new Set(['v', 'id', 'type', 'kind', 'timestamp', 'metadata', 'payload', 'event']);
const EVENT_KEYS = new Set(['aggregateId', 'aggregateType', 'version', 'correlationId', 'causationId']);
const MAX_TIME = 8.64e15;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key of Object.keys(value)) if (!allowed.has(key)) return false;
  return true;
}

/** The envelope's JSON text, fields in the order `MessageRegistry.toEnvelope` writes them. */
function envelopeText(parts: EnvelopeParts): string {
  const { id, type, kind, timestamp, metadata, payload, event } = parts;
  if (event === undefined) return JSON.stringify({ v: 1, id, type, kind, timestamp, metadata, payload });
  const identity: Record<string, unknown> = {
    aggregateId: event.aggregateId,
    aggregateType: event.aggregateType,
    version: event.version,
  };
  if (event.correlationId !== undefined) identity.correlationId = event.correlationId;
  if (event.causationId !== undefined) identity.causationId = event.causationId;
  return JSON.stringify({ v: 1, id, type, kind, timestamp, metadata, payload, event: identity });
}

/**
 * The parts of `message.body` when it is an envelope that the CloudEvent mapping carries without
 * loss: its content type header says so, its id and type are the message's, and rebuilding it from
 * the parts gives the body back byte for byte. Otherwise undefined (the body then travels raw).
 */
function envelopeParts(message: TransportMessage): EnvelopeParts | undefined {
  if (message.headers['content-type'] !== ENVELOPE_CONTENT_TYPE) return undefined;
  let env: unknown;
  try {
    env = JSON.parse(message.body);
  } catch {
    return undefined;
  }
  if (!isPlainObject(env) || !onlyKeys(env, ENVELOPE_KEYS) || env.v !== 1) return undefined;
  const { id, type, kind, timestamp, metadata, payload, event } = env;
  if (id !== message.id || type !== message.type || typeof kind !== 'string' || !KINDS.has(kind)) {
    return undefined;
  }
  if (!Number.isSafeInteger(timestamp) || Math.abs(timestamp as number) > MAX_TIME) return undefined;
  if (!isPlainObject(metadata) || !isPlainObject(payload)) return undefined;
  let identity: EnvelopeParts['event'];
  if (kind === 'event') {
    if (!isPlainObject(event) || !onlyKeys(event, EVENT_KEYS)) return undefined;
    const { aggregateId, aggregateType, version, correlationId, causationId } = event;
    if (typeof aggregateId !== 'string' || typeof aggregateType !== 'string') return undefined;
    if (!Number.isSafeInteger(version) || (version as number) < 0) return undefined;
    if (correlationId !== undefined && (typeof correlationId !== 'string' || correlationId === '')) return;
    if (causationId !== undefined && (typeof causationId !== 'string' || causationId === '')) return;
    identity = {
      aggregateId,
      aggregateType,
      version: version as number,
      ...(correlationId === undefined ? {} : { correlationId }),
      ...(causationId === undefined ? {} : { causationId }),
    };
  } else if (event !== undefined) {
    return undefined;
  }
  const parts: EnvelopeParts = {
    id: id as string,
    type: type as string,
    kind: kind as Kind,
    timestamp: timestamp as number,
    metadata,
    payload,
    ...(identity === undefined ? {} : { event: identity }),
  };
  return envelopeText(parts) === message.body ? parts : undefined;
}

/** Whether a media type is JSON (`application/json`, `…+json`, with parameters or not). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json') || type === 'text/json';
}

/**
 * The CloudEvent that carries a transport message (see the table at the top of this file), and the
 * message's headers that stay protocol headers beside it: all but `content-type` (that becomes
 * `datacontenttype`) and names starting with `ce_` (attribute headers are the binding's).
 */
export function toCloudEvent(
  message: TransportMessage,
  options: { readonly source: string; readonly key?: string },
): { event: CloudEvent; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (name !== 'content-type' && !name.startsWith(CLOUDEVENTS_HEADER_PREFIX)) headers[name] = value;
  }
  const attributes: Record<string, CloudEventValue> = {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: message.id,
    source: options.source,
    type: message.type,
  };
  const parts = envelopeParts(message);
  let data: CloudEventData;
  if (parts === undefined) {
    const contentType = message.headers['content-type'];
    if (contentType !== undefined) attributes.datacontenttype = contentType;
    attributes.finaegisrawbody = true;
    data = { text: message.body };
  } else {
    attributes.time = new Date(parts.timestamp).toISOString();
    attributes.datacontenttype = 'application/json';
    if (parts.event !== undefined && parts.event.aggregateId !== '')
      attributes.subject = parts.event.aggregateId;
    attributes.finaegiskind = parts.kind;
    if (Object.keys(parts.metadata).length > 0) attributes.finaegismetadata = JSON.stringify(parts.metadata);
    if (parts.event !== undefined) {
      const { aggregateType, version, correlationId, causationId } = parts.event;
      if (aggregateType !== '') attributes.aggregatetype = aggregateType;
      attributes.aggregateversion = version;
      if (correlationId !== undefined) attributes.correlationid = correlationId;
      if (causationId !== undefined) attributes.causationid = causationId;
    }
    data = { json: parts.payload };
  }
  if (options.key !== undefined && options.key !== '') attributes.partitionkey = options.key;
  return { event: { attributes, data }, headers };
}

function fail(reason: string, adapter: string | undefined): never {
  throw new MessageDecodeError(reason, adapter === undefined ? undefined : { adapter });
}

function text(attributes: Readonly<Record<string, CloudEventValue>>, name: string): string | undefined {
  const value = attributes[name];
  return value === undefined ? undefined : String(value);
}

function requiredText(
  attributes: Readonly<Record<string, CloudEventValue>>,
  name: string,
  adapter: string | undefined,
): string {
  const value = text(attributes, name);
  if (value === undefined || value === '') fail(`the CloudEvent has no ${name}`, adapter);
  return value;
}

/** The data as text: what binary mode carries, or a structured event's JSON value printed. */
function dataText(data: CloudEventData | undefined): string {
  if (data === undefined) return '';
  if ('text' in data) return data.text;
  return typeof data.json === 'string' ? data.json : (JSON.stringify(data.json) ?? '');
}

function payloadOf(event: CloudEvent, adapter: string | undefined): Record<string, unknown> {
  const { data } = event;
  if (data === undefined) return {};
  const contentType = text(event.attributes, 'datacontenttype');
  if (!isJsonContentType(contentType)) {
    fail(`CloudEvent data of content type ${contentType} is not JSON; a message payload must be`, adapter);
  }
  let value: unknown;
  if ('json' in data) value = data.json;
  else {
    try {
      value = JSON.parse(data.text);
    } catch (error) {
      fail(`CloudEvent data is not JSON (${(error as Error).message})`, adapter);
    }
  }
  if (!isPlainObject(value))
    fail('CloudEvent data must be a JSON object to become a message payload', adapter);
  return value;
}

/**
 * The transport message a CloudEvent carries (the table at the top of this file, read backwards).
 * Its body is our envelope, built from the attributes and the data (a JSON object), so a worker
 * decodes it like any other; unless the event is marked `finaegisrawbody`, whose data is the body
 * as it was sent. Its headers are the context's, `content-type`, and, for an event without our
 * extensions `finaegiskind` and `finaegisrawbody` (one that another library wrote), every
 * attribute as `ce_<name>`.
 * @throws MessageDecodeError for a CloudEvent that is not 1.0, lacks `id`, `source` or `type`, or
 *   whose data is not a JSON object, or whose `time`, `aggregateversion`, `finaegiskind` or
 *   `finaegismetadata` cannot be read.
 */
export function fromCloudEvent(event: CloudEvent, context: CloudEventContext): TransportMessage {
  const { attributes } = event;
  const { adapter } = context;
  const specversion = text(attributes, 'specversion');
  if (specversion !== CLOUDEVENTS_SPEC_VERSION) {
    fail(`CloudEvents specversion ${specversion ?? '(none)'} is not ${CLOUDEVENTS_SPEC_VERSION}`, adapter);
  }
  const id = requiredText(attributes, 'id', adapter);
  const type = requiredText(attributes, 'type', adapter);
  requiredText(attributes, 'source', adapter);
  const headers: Record<string, string> = { ...context.headers };
  // An event that carries our extensions (every event `toCloudEvent` makes) comes back with exactly
  // the headers it was sent with; any other shows its attributes as `ce_` headers too.
  if (attributes.finaegiskind === undefined && attributes.finaegisrawbody === undefined) {
    for (const [name, value] of Object.entries(attributes))
      headers[CLOUDEVENTS_HEADER_PREFIX + name] = String(value);
  }
  const key = context.key ?? text(attributes, 'partitionkey');
  const keyed = (message: TransportMessage): TransportMessage =>
    key === undefined || key === '' ? message : { ...message, key };

  const raw = attributes.finaegisrawbody;
  if (raw === true || raw === 'true') {
    const contentType = text(attributes, 'datacontenttype');
    if (contentType !== undefined) headers['content-type'] = contentType;
    return keyed({ id, type, body: dataText(event.data), headers });
  }

  const kind = text(attributes, 'finaegiskind') ?? 'event';
  if (!KINDS.has(kind)) fail(`finaegiskind ${kind} is not command, query or event`, adapter);
  const time = text(attributes, 'time');
  const timestamp = time === undefined ? (context.time ?? Date.now()) : Date.parse(time);
  if (!Number.isFinite(timestamp)) fail(`CloudEvent time ${time} is not an RFC 3339 time`, adapter);
  let metadata: Record<string, unknown> = {};
  const metadataText = text(attributes, 'finaegismetadata');
  if (metadataText !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(metadataText);
    } catch {
      parsed = undefined;
    }
    if (!isPlainObject(parsed)) fail('finaegismetadata is not the JSON text of an object', adapter);
    metadata = parsed;
  }
  let identity: EnvelopeParts['event'];
  if (kind === 'event') {
    const versionText = text(attributes, 'aggregateversion');
    const version = versionText === undefined ? 0 : Number(versionText);
    if (
      !Number.isSafeInteger(version) ||
      version < 0 ||
      (versionText !== undefined && versionText.trim() === '')
    ) {
      fail(`aggregateversion ${versionText} is not an integer >= 0`, adapter);
    }
    const correlationId = text(attributes, 'correlationid');
    const causationId = text(attributes, 'causationid');
    identity = {
      aggregateId: text(attributes, 'subject') ?? '',
      aggregateType: text(attributes, 'aggregatetype') ?? '',
      version,
      ...(correlationId === undefined || correlationId === '' ? {} : { correlationId }),
      ...(causationId === undefined || causationId === '' ? {} : { causationId }),
    };
  }
  const body = envelopeText({
    id,
    type,
    kind: kind as Kind,
    timestamp,
    metadata,
    payload: payloadOf(event, adapter),
    ...(identity === undefined ? {} : { event: identity }),
  });
  headers['content-type'] = ENVELOPE_CONTENT_TYPE;
  return keyed({ id, type, body, headers });
}

/**
 * A CloudEvent in the JSON event format (structured mode). JSON data (`datacontenttype` absent or
 * JSON) is embedded as a JSON value; text data of another type as a string.
 */
export function encodeStructuredCloudEvent(event: CloudEvent): string {
  const document: Record<string, unknown> = { ...event.attributes };
  const { data } = event;
  if (data !== undefined) document.data = 'json' in data ? data.json : data.text;
  return JSON.stringify(document);
}

/**
 * Reads a CloudEvent in the JSON event format: its attributes (strings, numbers and booleans; an
 * attribute of another JSON type is an error) and its `data` (or `data_base64`, decoded as UTF-8).
 * @throws MessageDecodeError when the text is not a JSON object or an attribute is not a scalar.
 */
export function decodeStructuredCloudEvent(textValue: string, adapter?: string): CloudEvent {
  let document: unknown;
  try {
    document = JSON.parse(textValue);
  } catch (error) {
    fail(`structured CloudEvent is not JSON (${(error as Error).message})`, adapter);
  }
  if (!isPlainObject(document)) fail('structured CloudEvent is not a JSON object', adapter);
  const attributes: Record<string, CloudEventValue> = {};
  for (const [name, value] of Object.entries(document)) {
    if (name === 'data' || name === 'data_base64' || value === null) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      fail(`CloudEvent attribute ${name} must be a string, number or boolean`, adapter);
    }
    attributes[name.toLowerCase()] = value;
  }
  let data: CloudEventData | undefined;
  const { data: value, data_base64: base64 } = document;
  if (base64 !== undefined && base64 !== null) {
    if (typeof base64 !== 'string') fail('data_base64 must be a string', adapter);
    data = { text: Buffer.from(base64, 'base64').toString('utf8') };
  } else if (value !== undefined && value !== null) {
    const json = isJsonContentType(text(attributes, 'datacontenttype'));
    data = !json && typeof value === 'string' ? { text: value } : { json: value };
  }
  return { attributes, data };
}

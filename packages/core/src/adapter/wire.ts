import { MessageDecodeError } from '../errors/message-decode-error';
import type { ReceivedMessage, TransportMessage } from '../ports/transport';

/** Encodes a TransportMessage as the single JSON text that broker adapters store. */
export function encodeTransportMessage(message: TransportMessage): string {
  return JSON.stringify({
    id: message.id,
    type: message.type,
    body: message.body,
    headers: message.headers,
    ...(message.key === undefined ? {} : { key: message.key }),
  });
}

/**
 * Decodes what `encodeTransportMessage` wrote.
 * @throws MessageDecodeError when the text is not such a message.
 */
export function decodeTransportMessage(text: string): TransportMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MessageDecodeError(`transport message is not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null)
    throw new MessageDecodeError('transport message is not an object');
  const v = value as Record<string, unknown>;
  const headersOk =
    typeof v.headers === 'object' &&
    v.headers !== null &&
    Object.values(v.headers as Record<string, unknown>).every((h) => typeof h === 'string');
  if (typeof v.id !== 'string' || typeof v.type !== 'string' || typeof v.body !== 'string' || !headersOk) {
    throw new MessageDecodeError('transport message needs string id, type and body, and string headers');
  }
  if (v.key !== undefined && typeof v.key !== 'string') throw new MessageDecodeError('key must be a string');
  return v as unknown as TransportMessage;
}

/**
 * Whether `value` already is a TransportMessage object (string `id`, `type` and `body`, an object
 * of string `headers`, a string `key` when present): the check `decodeTransportMessage` makes,
 * for adapters whose client hands over parsed objects, so they need not print and parse them again.
 */
export function isTransportMessage(value: unknown): value is TransportMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.type !== 'string' || typeof v.body !== 'string') return false;
  if (v.key !== undefined && typeof v.key !== 'string') return false;
  if (typeof v.headers !== 'object' || v.headers === null) return false;
  for (const header of Object.values(v.headers)) if (typeof header !== 'string') return false;
  return true;
}

/**
 * The message a handler receives: the wire message plus where and how often it was delivered.
 * Builds a fresh object with exactly the port's fields, so what an adapter keeps about a record
 * (offsets, job ids, ...) never leaks into handlers.
 */
export function toReceivedMessage(
  message: TransportMessage,
  delivery: {
    readonly channel: string;
    readonly group: string;
    readonly attempt: number;
    readonly partition?: number;
  },
): ReceivedMessage {
  const received: { -readonly [K in keyof ReceivedMessage]: ReceivedMessage[K] } = {
    id: message.id,
    type: message.type,
    body: message.body,
    headers: message.headers,
    channel: delivery.channel,
    group: delivery.group,
    attempt: delivery.attempt,
  };
  if (message.key !== undefined) received.key = message.key;
  if (delivery.partition !== undefined) received.partition = delivery.partition;
  return received;
}

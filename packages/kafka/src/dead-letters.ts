import { type DeadLetter, newId, type TransportMessage } from '@finaegis/core';
import { describeError, formatCause, withTimeout } from '@finaegis/core/adapter';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { ConsumerState, KafkaRuntime } from './consumer-state';
import { PREFIX } from './kafka-options';
import { KafkaTimeoutError } from './kafka-timeout-error';
import {
  encodeRecord,
  ID_HEADER,
  type RecordFormat,
  TARGET_GROUP_HEADER,
  TYPE_HEADER,
  WIRE_HEADER,
  WIRE_VERSION,
} from './kafka-wire';

/*
 * Dead letters live in `<topic>.dlq` (one partition, so they list oldest first) as JSON records:
 * a dead letter, or a marker that some were re-driven (and are no longer listed). A dead letter
 * keeps its record as it was (partition, key, value and headers, as base64), so that `redrive`
 * writes it back unchanged, to the partition it came from.
 */

/** The record a dead letter came from, as it was read. */
interface SourceRecord {
  readonly partition: number;
  readonly offset: string;
  readonly format: RecordFormat;
  /** Base64 of the key's bytes; null for a record without a key. */
  readonly key: string | null;
  /** Base64 of the value's bytes; null for a record without a value. */
  readonly value: string | null;
  /** Each header (a repeated one once per value): its name and the base64 of its value. */
  readonly headers: readonly (readonly [string, string])[];
}

interface DeadLetterRecord {
  readonly wire: number;
  readonly kind: 'dead-letter';
  readonly entry: DeadLetter;
  /** Absent in dead letters written before the record was kept. */
  readonly source?: SourceRecord;
}
interface RedrivenRecord {
  readonly wire: number;
  readonly kind: 'redriven';
  readonly ids: readonly string[];
}

/** A dead letter as read back from its topic. */
interface StoredLetter {
  readonly entry: DeadLetter;
  readonly source: SourceRecord | undefined;
}

function sourceRecord(partition: number, record: KafkaMessage, format: RecordFormat): SourceRecord {
  const headers: (readonly [string, string])[] = [];
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined) headers.push([name, Buffer.from(one).toString('base64')]);
    }
  }
  return {
    partition,
    offset: record.offset,
    format,
    key: record.key === null ? null : record.key.toString('base64'),
    value: record.value === null ? null : record.value.toString('base64'),
    headers,
  };
}

/**
 * Writes a dead letter of the consumer's group, with the record it came from.
 * @throws what the send threw (it is logged).
 */
export async function writeDeadLetter(
  state: ConsumerState,
  message: TransportMessage,
  record: { readonly partition: number; readonly message: KafkaMessage; readonly format: RecordFormat },
  error: unknown,
  attempts: number,
): Promise<void> {
  const { batcher, topics, logger } = state.runtime;
  const entry: DeadLetter = {
    id: newId(),
    channel: state.channel,
    group: state.group,
    message,
    error: describeError(error),
    attempts,
    failedAt: Date.now(),
  };
  const letter: DeadLetterRecord = {
    wire: WIRE_VERSION,
    kind: 'dead-letter',
    entry,
    source: sourceRecord(record.partition, record.message, record.format),
  };
  try {
    await batcher.add(topics.deadLetterTopic(state.topic), {
      key: state.group,
      value: JSON.stringify(letter),
      headers: { [WIRE_HEADER]: String(WIRE_VERSION) },
    });
  } catch (sendError) {
    logger.error(`${PREFIX} could not write a dead letter; the record will be delivered again`, {
      topic: state.topic,
      group: state.group,
      id: message.id,
      error: formatCause(sendError),
    });
    throw sendError;
  }
}

/** The dead letters of a channel, oldest first, of one group or all. */
export async function listDeadLetters(
  runtime: KafkaRuntime,
  channel: string,
  options: { group?: string; limit?: number },
): Promise<DeadLetter[]> {
  const letters = (await readDeadLetters(runtime, runtime.topics.topicName(channel)))
    .map((letter) => letter.entry)
    .filter((entry) => options.group === undefined || entry.group === options.group);
  return options.limit === undefined ? letters : letters.slice(0, Math.max(0, options.limit));
}

/**
 * The record that re-drives a dead letter: its record as it was, to the partition it came from,
 * marked for the group that failed it, with the id and type headers every record carries (and
 * the wire version, for a record in our format). Dead letters written before records were kept
 * are sent from their message, keyed as it was.
 */
function redriveRecord(letter: StoredLetter): Message {
  const { entry, source } = letter;
  const { message } = entry;
  if (source === undefined) {
    const record =
      message.type === ''
        ? { key: message.key ?? null, value: message.body, headers: {} as IHeaders }
        : encodeRecord(message, message.key, 'finaegis', '');
    return { ...record, headers: { ...record.headers, [TARGET_GROUP_HEADER]: entry.group } };
  }
  const headers: IHeaders = {};
  for (const [name, value] of source.headers) {
    if (name === TARGET_GROUP_HEADER) continue;
    const bytes = Buffer.from(value, 'base64');
    const seen = headers[name];
    if (seen === undefined) headers[name] = bytes;
    else headers[name] = [...(Array.isArray(seen) ? seen : [seen]), bytes];
  }
  if (source.format !== 'undecodable') {
    headers[ID_HEADER] = message.id;
    headers[TYPE_HEADER] = message.type;
    if (source.format === 'finaegis') headers[WIRE_HEADER] = String(WIRE_VERSION);
  }
  headers[TARGET_GROUP_HEADER] = entry.group;
  return {
    partition: source.partition,
    key: source.key === null ? null : Buffer.from(source.key, 'base64'),
    value: source.value === null ? null : Buffer.from(source.value, 'base64'),
    headers,
  };
}

/**
 * Sends dead letters back to the channel's topic, marked for the one group that failed them (other
 * groups skip them), and marks them re-driven. Returns how many.
 */
export async function redriveDeadLetters(
  runtime: KafkaRuntime,
  channel: string,
  options: { group?: string; ids?: readonly string[] },
): Promise<number> {
  const { topics, batcher } = runtime;
  const topic = topics.topicName(channel);
  const wanted = options.ids === undefined ? undefined : new Set(options.ids);
  const chosen = (await readDeadLetters(runtime, topic)).filter(
    ({ entry }) =>
      (options.group === undefined || entry.group === options.group) && (!wanted || wanted.has(entry.id)),
  );
  if (chosen.length === 0) return 0;
  await Promise.all(chosen.map((letter) => batcher.add(topic, redriveRecord(letter))));
  const marker: RedrivenRecord = {
    wire: WIRE_VERSION,
    kind: 'redriven',
    ids: chosen.map(({ entry }) => entry.id),
  };
  await batcher.add(topics.deadLetterTopic(topic), {
    key: null,
    value: JSON.stringify(marker),
    headers: { [WIRE_HEADER]: String(WIRE_VERSION) },
  });
  return chosen.length;
}

/**
 * Reads a dead-letter topic from its start to its current end, without committing anything. A
 * record of a newer wire version than this code knows is left out, with a warning.
 */
async function readDeadLetters(runtime: KafkaRuntime, topic: string): Promise<StoredLetter[]> {
  const dlq = runtime.topics.deadLetterTopic(topic);
  const records = await readTopic(runtime, dlq);
  const letters = new Map<string, StoredLetter>();
  for (const text of records) {
    let record: DeadLetterRecord | RedrivenRecord;
    try {
      record = JSON.parse(text) as DeadLetterRecord | RedrivenRecord;
    } catch {
      continue;
    }
    if ((record.wire ?? 1) > WIRE_VERSION) {
      runtime.logger.warn(`${PREFIX} a dead-letter record of a newer wire version is left out`, {
        topic: dlq,
        wire: record.wire,
      });
      continue;
    }
    if (record.kind === 'dead-letter') {
      letters.set(record.entry.id, { entry: record.entry, source: record.source });
    } else if (record.kind === 'redriven') for (const id of record.ids) letters.delete(id);
  }
  return [...letters.values()].sort((a, b) => a.entry.failedAt - b.entry.failedAt);
}

async function readTopic(runtime: KafkaRuntime, topic: string): Promise<string[]> {
  const { topics, settings } = runtime;
  const admin = await topics.admin();
  let ends: { partition: number; high: string; low: string }[];
  try {
    ends = await admin.fetchTopicOffsets(topic);
  } catch {
    return [];
  }
  const pending = new Map(
    ends.filter((end) => Number(end.high) > Number(end.low)).map((end) => [end.partition, Number(end.high)]),
  );
  if (pending.size === 0) return [];
  // kafkajs reads only through consumer groups: a throw-away group, deleted afterwards.
  const groupId = `${settings.groupIdPrefix}finaegis-reader.${newId()}`;
  const reader = runtime.kafka.consumer({
    groupId,
    sessionTimeout: settings.sessionTimeout,
    heartbeatInterval: settings.heartbeatInterval,
    maxWaitTimeInMs: 100,
  });
  const texts: { partition: number; offset: number; text: string }[] = [];
  try {
    await reader.connect();
    await reader.subscribe({ topics: [topic], fromBeginning: true });
    const readAll = new Promise<void>((resolve, reject) => {
      reader
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              const offset = Number(message.offset);
              const high = pending.get(batch.partition);
              if (high === undefined || offset >= high) continue;
              texts.push({ partition: batch.partition, offset, text: message.value?.toString() ?? '' });
              if (offset >= high - 1) pending.delete(batch.partition);
            }
            if (pending.size === 0) resolve();
          },
        })
        .catch(reject);
    });
    await withTimeout(
      readAll,
      settings.joinTimeoutMs,
      () => new KafkaTimeoutError(`read ${topic}`, settings.joinTimeoutMs),
    );
  } finally {
    await reader.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
  }
  texts.sort((a, b) => a.offset - b.offset || a.partition - b.partition);
  return texts.map((t) => t.text);
}

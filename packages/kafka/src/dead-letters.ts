import { type DeadLetter, newId, type TransportMessage } from '@finaegis/core';
import { describeError, encodeTransportMessage, formatCause, withTimeout } from '@finaegis/core/adapter';
import type { IHeaders } from 'kafkajs';
import type { ConsumerState, KafkaRuntime } from './consumer-state';
import { PREFIX } from './kafka-options';
import { KafkaTimeoutError } from './kafka-timeout-error';

/*
 * Dead letters live in `<topic>.dlq` (one partition, so they list oldest first) as JSON records:
 * a dead letter, or a marker that some were re-driven (and are no longer listed).
 */

/** Record header naming the only group that should handle a re-driven record. */
export const TARGET_GROUP_HEADER = 'finaegis-redrive-group';

interface DeadLetterRecord {
  readonly kind: 'dead-letter';
  readonly entry: DeadLetter;
}
interface RedrivenRecord {
  readonly kind: 'redriven';
  readonly ids: readonly string[];
}

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** Writes a dead letter of the consumer's group. @throws what the send threw (it is logged). */
export async function writeDeadLetter(
  state: ConsumerState,
  message: TransportMessage,
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
  const record: DeadLetterRecord = { kind: 'dead-letter', entry };
  try {
    await batcher.add(topics.deadLetterTopic(state.topic), {
      key: state.group,
      value: JSON.stringify(record),
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
  const letters = (await readDeadLetters(runtime, runtime.topics.topicName(channel))).filter(
    (letter) => options.group === undefined || letter.group === options.group,
  );
  return options.limit === undefined ? letters : letters.slice(0, Math.max(0, options.limit));
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
    (letter) =>
      (options.group === undefined || letter.group === options.group) && (!wanted || wanted.has(letter.id)),
  );
  if (chosen.length === 0) return 0;
  await Promise.all(
    chosen.map((letter) =>
      batcher.add(topic, {
        key: letter.message.key ?? null,
        value: letter.message.type === '' ? letter.message.body : encodeTransportMessage(letter.message),
        headers: { [TARGET_GROUP_HEADER]: letter.group, 'finaegis-id': letter.message.id },
      }),
    ),
  );
  const marker: RedrivenRecord = { kind: 'redriven', ids: chosen.map((letter) => letter.id) };
  await batcher.add(topics.deadLetterTopic(topic), { key: null, value: JSON.stringify(marker) });
  return chosen.length;
}

/** Reads a dead-letter topic from its start to its current end, without committing anything. */
async function readDeadLetters(runtime: KafkaRuntime, topic: string): Promise<DeadLetter[]> {
  const records = await readTopic(runtime, runtime.topics.deadLetterTopic(topic));
  const letters = new Map<string, DeadLetter>();
  for (const text of records) {
    let record: DeadLetterRecord | RedrivenRecord;
    try {
      record = JSON.parse(text) as DeadLetterRecord | RedrivenRecord;
    } catch {
      continue;
    }
    if (record.kind === 'dead-letter') letters.set(record.entry.id, record.entry);
    else if (record.kind === 'redriven') for (const id of record.ids) letters.delete(id);
  }
  return [...letters.values()].sort((a, b) => a.failedAt - b.failedAt);
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

/*
 * Messages as BullMQ jobs: the job a send adds, the message a job carries, and the dead letter a
 * failed job is read back as.
 */
import {
  type DeadLetter,
  MessageDecodeError,
  newId,
  type SendOptions,
  type TransportFeatures,
  type TransportMessage,
  UnsupportedFeatureError,
} from '@finaegis/core';
import {
  assertSendSupported,
  checkSendOptions,
  checkTransportMessage,
  decodeTransportMessage,
  describeError,
  isTransportMessage,
} from '@finaegis/core/adapter';
import { type Job, type JobsOptions, type KeepJobs, UnrecoverableError } from 'bullmq';
import { ADAPTER, deadLetterId, dedupeJobId, MAX_PRIORITY, toBullmqPriority } from './names';

// Retries are decided by the consumer's RetryPolicy, not by the sender (which cannot know it): jobs
// carry "unlimited" attempts and our own backoff type, and the worker dead-letters at the limit.
export const UNLIMITED_ATTEMPTS = 2 ** 31 - 1;
export const BACKOFF_TYPE = 'finaegis';

/** The version of the job data's format that this code writes, and the newest it reads. */
export const WIRE_VERSION = 1;

/** Job data: the transport message and the version of its format (absent is read as 1). */
export type JobData = TransportMessage & { readonly wire?: number };

/** A job to add: its name, data and options. */
export interface JobToAdd {
  name: string;
  data: JobData;
  opts: JobsOptions;
}

/**
 * Whether BullMQ itself would not follow the consumer's retry policy for this job: a job another
 * producer added (with BullMQ's default of one attempt, or attempts and backoff of its own)
 * rather than one `send` made. The worker then schedules its retries itself.
 */
export function isForeignJob(job: Job): boolean {
  const backoff = job.opts.backoff;
  return (
    job.opts.attempts !== UNLIMITED_ATTEMPTS ||
    typeof backoff !== 'object' ||
    backoff === null ||
    backoff.type !== BACKOFF_TYPE
  );
}

/**
 * Checks a message and its send options and makes the job that carries it.
 * @throws InvalidArgumentError for a bad message or options; UnsupportedFeatureError for what the
 *   transport does not offer, or a priority outside 0 to `MAX_PRIORITY`.
 */
export function jobFor(
  transport: { readonly name: string; readonly features: TransportFeatures },
  keepCompleted: boolean | number | KeepJobs,
  message: TransportMessage,
  options?: SendOptions,
): JobToAdd {
  checkSendOptions(ADAPTER, options);
  assertSendSupported(transport, options, ADAPTER);
  const checked = checkTransportMessage(ADAPTER, message);
  const priority = options?.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) {
    throw new UnsupportedFeatureError(
      transport.name,
      'priority',
      `an integer from 0 to ${MAX_PRIORITY}, got ${priority}`,
      { adapter: ADAPTER },
    );
  }
  const delay = options?.delayMs ?? 0;
  const key = options?.key ?? checked.key;
  return {
    name: checked.type,
    data: { ...copyMessage(checked, key), wire: WIRE_VERSION },
    opts: {
      jobId: options?.dedupeId === undefined ? newId() : dedupeJobId(options.dedupeId),
      ...(transport.features.priority ? { priority: toBullmqPriority(priority) } : {}),
      ...(delay > 0 ? { delay: Math.ceil(delay) } : {}),
      attempts: UNLIMITED_ATTEMPTS,
      backoff: { type: BACKOFF_TYPE },
      removeOnComplete: keepCompleted,
      removeOnFail: false,
    },
  };
}

/**
 * The worker's `removeOnComplete` and `removeOnFail`, which BullMQ applies to jobs that carry none:
 * completed jobs kept as `keepCompleted` says, failed ones (dead letters) always.
 */
export function workerKeepJobs(keepCompleted: boolean | number | KeepJobs): {
  removeOnComplete?: KeepJobs;
  removeOnFail: KeepJobs;
} {
  const keepAll: KeepJobs = { count: -1 };
  let removeOnComplete: KeepJobs | undefined;
  if (keepCompleted === true) removeOnComplete = { count: 0 };
  else if (typeof keepCompleted === 'number') removeOnComplete = { count: keepCompleted };
  else if (typeof keepCompleted === 'object') removeOnComplete = keepCompleted;
  return removeOnComplete === undefined
    ? { removeOnFail: keepAll }
    : { removeOnComplete, removeOnFail: keepAll };
}

/** The five fields of a message, with `key` in place of its own. */
function copyMessage(message: TransportMessage, key: string | undefined): TransportMessage {
  const { id, type, body, headers } = message;
  return key === undefined ? { id, type, body, headers } : { id, type, body, headers, key };
}

/**
 * The error BullMQ stores when we give up on a job. `UnrecoverableError` stops BullMQ's retries; its
 * stack starts with the original `name: message`, which is how `deadLetters` gets the name back
 * (BullMQ keeps only `failedReason` = message and the stacks).
 */
export function deadLetterError(cause: unknown): UnrecoverableError {
  const { name, message, stack } = describeError(cause);
  const error = new UnrecoverableError(message);
  const frames = (stack ?? '')
    .split('\n')
    .filter((line) => line.startsWith('    at '))
    .join('\n');
  error.stack = frames ? `${name}: ${message}\n${frames}` : `${name}: ${message}`;
  return error;
}

function readError(job: Job): DeadLetter['error'] {
  const message = job.failedReason ?? '';
  const stack = job.stacktrace?.[job.stacktrace.length - 1];
  if (stack) {
    const colon = stack.indexOf(': ');
    const name = colon > 0 ? stack.slice(0, colon) : '';
    if (/^[A-Za-z_$][\w$]*$/.test(name)) return { name, message, stack };
    return { name: 'Error', message, stack };
  }
  return { name: 'Error', message };
}

function rawText(data: unknown): string {
  return typeof data === 'string' ? data : (JSON.stringify(data) ?? '');
}

/**
 * Job data is the TransportMessage itself (readable in BullMQ tools); a string is read as its JSON
 * text. The object check is the same as `decodeTransportMessage`'s, without printing and parsing
 * the data again on the hot path; anything it rejects goes through `decodeTransportMessage` for
 * the error.
 */
export function decodeJobData(data: unknown): TransportMessage {
  const wire = typeof data === 'object' && data !== null ? (data as { wire?: unknown }).wire : undefined;
  if (wire !== undefined && wire !== WIRE_VERSION) {
    throw new MessageDecodeError(
      `job data format version ${JSON.stringify(wire)} is not one this consumer reads (${WIRE_VERSION})`,
      { adapter: ADAPTER },
    );
  }
  if (typeof data !== 'string' && isTransportMessage(data)) return data;
  return decodeTransportMessage(rawText(data));
}

/** A failed job of a group's queue as a dead letter. */
export function deadLetterOf(channel: string, group: string, job: Job): DeadLetter {
  let message: TransportMessage;
  try {
    const decoded = decodeJobData(job.data);
    message = copyMessage(decoded, decoded.key);
  } catch {
    message = { id: job.id ?? '', type: '', body: rawText(job.data), headers: {} };
  }
  return {
    id: deadLetterId(group, job.id ?? ''),
    channel,
    group,
    message,
    error: readError(job),
    // A foreign job's retries were scheduled by the worker, which BullMQ does not count as attempts.
    attempts: isForeignJob(job) ? Math.max(job.attemptsMade, job.attemptsStarted ?? 0) : job.attemptsMade,
    failedAt: job.finishedOn ?? job.timestamp,
  };
}

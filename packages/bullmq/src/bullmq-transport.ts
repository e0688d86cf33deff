import {
  assertSendSupported,
  backoffDelay,
  ConfigError,
  type ConsumeOptions,
  checkSendOptions,
  checkTransportMessage,
  consoleLogger,
  type DeadLetter,
  decodeTransportMessage,
  describeError,
  InvalidArgumentError,
  isRetryable,
  type Logger,
  type MessageHandler,
  newId,
  resolveConsumeOptions,
  type SendOptions,
  type Subscription,
  type Transport,
  TransportClosedError,
  type TransportFeatures,
  type TransportMessage,
  UnsupportedFeatureError,
} from '@finaegis/core';
import { type Job, type JobsOptions, type KeepJobs, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  ADAPTER,
  assertChannel,
  assertGroup,
  backlogQueueName,
  deadLetterId,
  dedupeJobId,
  groupQueueName,
  groupsKey,
  MAX_PRIORITY,
  parseDeadLetterId,
  toBullmqPriority,
} from './names';

/** Options of `createBullmqTransport`. */
export interface BullmqTransportOptions {
  /**
   * An ioredis client to use. The transport never closes it. Workers need `maxRetriesPerRequest:
   * null`; when this client has another value, workers get a duplicate of it with `null` (owned
   * and closed by the transport).
   */
  readonly connection?: Redis;
  /** Redis URL used when no `connection` is given. Default: `REDIS_URL`, else `redis://127.0.0.1:6379`. */
  readonly url?: string;
  /** Prefix of every Redis key (BullMQ's `prefix`). Default `finaegis`. Use `{finaegis}` on a Redis Cluster. */
  readonly prefix?: string;
  /**
   * How long handled jobs are kept (BullMQ `removeOnComplete`). A kept job still blocks a send
   * with the same `dedupeId`, so this is the dedupe window. Default `{ age: 3600, count: 10000 }`.
   */
  readonly keepCompleted?: boolean | number | KeepJobs;
  /** Lock of a job in flight; a consumer that stops renewing it (crash) loses the job after this. Default 30000. */
  readonly lockDurationMs?: number;
  /** How often workers look for jobs whose lock expired and hand them out again. Default 30000. */
  readonly stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead consumer before it is dead-lettered. Default 1. */
  readonly maxStalledCount?: number;
  /**
   * `true` (default): `SendOptions.priority` is honoured, and to keep priority 0 last every job is
   * a BullMQ prioritised job (BullMQ serves jobs without a priority before all prioritised ones),
   * which costs throughput (see the README's benchmark). `false`: plain FIFO jobs, and a send with a
   * priority is refused with `UnsupportedFeatureError` (`features.priority` is `false`).
   */
  readonly priority?: boolean;
  /** Where worker and queue errors (lost connection, ...) are written. Default: console. */
  readonly logger?: Logger;
  /** Called with each BullMQ `Worker` the transport starts, e.g. to attach metrics to its events. */
  readonly onWorker?: (
    worker: Worker,
    consumer: { readonly channel: string; readonly group: string },
  ) => void;
}

/** One message of a `sendBatch`. */
export interface BatchMessage {
  readonly message: TransportMessage;
  readonly options?: SendOptions;
}

/** The BullMQ transport: the `Transport` port plus a batched send. */
export interface BullmqTransport extends Transport {
  /**
   * Sends many messages to one channel in one Redis round trip per group (BullMQ `addBulk`).
   * Resolves once Redis has stored them all; same options and checks as `send`.
   */
  sendBatch(channel: string, messages: readonly BatchMessage[]): Promise<void>;
}

const FEATURES: TransportFeatures = Object.freeze({
  delay: true,
  priority: true,
  // BullMQ hands a queue's jobs to any free worker slot; per-key ordering would need BullMQ Pro groups.
  orderingByKey: false,
  consumerGroups: true,
  deadLetter: true,
  dedupe: true,
  persistent: true,
  depth: true,
});

// Retries are decided by the consumer's RetryPolicy, not by the sender (which cannot know it): jobs
// carry "unlimited" attempts and our own backoff type, and the worker dead-letters at the limit.
const UNLIMITED_ATTEMPTS = 2 ** 31 - 1;
const BACKOFF_TYPE = 'finaegis';
const DEFAULT_KEEP_COMPLETED: KeepJobs = { age: 3600, count: 10_000 };
const DEPTH_STATES = ['waiting', 'delayed', 'active', 'prioritized'] as const;
const BACKLOG_STATES = ['prioritized', 'waiting', 'delayed'] as const;

/**
 * The error BullMQ stores when we give up on a job. `UnrecoverableError` stops BullMQ's retries; its
 * stack starts with the original `name: message`, which is how `deadLetters` gets the name back
 * (BullMQ keeps only `failedReason` = message and the stacks).
 */
function deadLetterError(cause: unknown): UnrecoverableError {
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

function isTransportMessage(value: unknown): value is TransportMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.type !== 'string' || typeof v.body !== 'string') return false;
  if (v.key !== undefined && typeof v.key !== 'string') return false;
  if (typeof v.headers !== 'object' || v.headers === null) return false;
  for (const header of Object.values(v.headers)) if (typeof header !== 'string') return false;
  return true;
}

/**
 * Job data is the TransportMessage itself (readable in BullMQ tools); a string is read as its JSON
 * text. The object check is the same as `decodeTransportMessage`'s, without printing and parsing
 * the data again on the hot path; anything it rejects goes through `decodeTransportMessage` for
 * the error.
 */
function decodeJobData(data: unknown): TransportMessage {
  if (typeof data !== 'string' && isTransportMessage(data)) return data;
  return decodeTransportMessage(rawText(data));
}

function assertPositiveInteger(key: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new ConfigError(key, value, 'an integer of at least 1');
  }
}

class BullmqTransportImpl implements BullmqTransport {
  readonly name = 'bullmq';
  readonly features: TransportFeatures;

  readonly #prefix: string;
  readonly #keepCompleted: boolean | number | KeepJobs;
  readonly #options: BullmqTransportOptions;
  readonly #logger: Logger;
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  #workerClient: Redis | undefined;
  #ownsWorkerClient = false;
  readonly #queues = new Map<string, Queue>();
  readonly #subscriptions = new Set<Subscription>();
  #closing: Promise<void> | undefined;

  constructor(options: BullmqTransportOptions) {
    this.#options = options;
    this.features = options.priority === false ? Object.freeze({ ...FEATURES, priority: false }) : FEATURES;
    this.#prefix = options.prefix ?? 'finaegis';
    if (!this.#prefix || this.#prefix.includes(':')) {
      throw new ConfigError('prefix', this.#prefix, 'a non-empty string without ":"');
    }
    this.#keepCompleted = options.keepCompleted ?? DEFAULT_KEEP_COMPLETED;
    this.#logger = options.logger ?? consoleLogger('finaegis.bullmq');
    assertPositiveInteger('lockDurationMs', options.lockDurationMs);
    assertPositiveInteger('stalledIntervalMs', options.stalledIntervalMs);
    if (options.connection) {
      this.#client = options.connection;
      this.#ownsClient = false;
    } else {
      this.#client = new Redis(options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      this.#ownsClient = true;
      this.#client.on('error', (error: Error) => this.#logError('redis connection error', error));
    }
  }

  async send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void> {
    this.#assertOpen();
    assertChannel(channel);
    const job = this.#jobFor(message, options);
    const groups = await this.#groups(channel);
    if (groups.length === 0) {
      await this.#queue(backlogQueueName(channel)).add(job.name, job.data, job.opts);
      await this.#adoptBacklogIfGroups(channel);
      return;
    }
    await Promise.all(
      groups.map((group) => this.#queue(groupQueueName(channel, group)).add(job.name, job.data, job.opts)),
    );
  }

  async sendBatch(channel: string, messages: readonly BatchMessage[]): Promise<void> {
    this.#assertOpen();
    assertChannel(channel);
    if (!Array.isArray(messages)) throw new InvalidArgumentError(ADAPTER, 'messages', 'must be an array');
    if (messages.length === 0) return;
    const jobs = messages.map(({ message, options }) => this.#jobFor(message, options));
    const groups = await this.#groups(channel);
    if (groups.length === 0) {
      await this.#queue(backlogQueueName(channel)).addBulk(jobs);
      await this.#adoptBacklogIfGroups(channel);
      return;
    }
    await Promise.all(groups.map((group) => this.#queue(groupQueueName(channel, group)).addBulk(jobs)));
  }

  async consume(channel: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription> {
    this.#assertOpen();
    assertChannel(channel);
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(ADAPTER, 'handler', 'must be a function');
    const { group, concurrency, retry: policy } = resolveConsumeOptions(ADAPTER, options);
    assertGroup(group);

    await this.#client.sadd(groupsKey(this.#prefix, channel), group);

    const processor = async (job: Job): Promise<void> => {
      let message: TransportMessage;
      try {
        message = decodeJobData(job.data);
      } catch (error) {
        throw deadLetterError(error);
      }
      const attempt = job.attemptsMade + 1;
      try {
        await handler({
          id: message.id,
          type: message.type,
          body: message.body,
          headers: message.headers,
          ...(message.key === undefined ? {} : { key: message.key }),
          channel,
          group,
          attempt,
        });
      } catch (error) {
        if (!isRetryable(error) || attempt >= policy.attempts) throw deadLetterError(error);
        throw error;
      }
    };

    const worker = new Worker(groupQueueName(channel, group), processor, {
      connection: this.#workerConnection(),
      prefix: this.#prefix,
      concurrency,
      lockDuration: this.#options.lockDurationMs ?? 30_000,
      stalledInterval: this.#options.stalledIntervalMs ?? 30_000,
      maxStalledCount: this.#options.maxStalledCount ?? 1,
      settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(policy.backoff, attemptsMade) },
    });
    worker.on('error', (error) => this.#logError('worker error', error, { channel, group }));
    this.#options.onWorker?.(worker, { channel, group });

    let closing: Promise<void> | undefined;
    const subscription: Subscription = {
      close: () => {
        closing ??= worker.close().finally(() => {
          this.#subscriptions.delete(subscription);
        });
        return closing;
      },
    };
    this.#subscriptions.add(subscription);
    try {
      await worker.waitUntilReady();
      await this.#adoptBacklog(channel);
    } catch (error) {
      await subscription.close();
      throw error;
    }
    return subscription;
  }

  async deadLetters(
    channel: string,
    options: { group?: string; limit?: number } = {},
  ): Promise<DeadLetter[]> {
    this.#assertOpen();
    assertChannel(channel);
    const groups = await this.#groupsFor(channel, options.group);
    const end = options.limit === undefined ? -1 : Math.max(0, options.limit - 1);
    if (options.limit !== undefined && options.limit <= 0) return [];
    const lists = await Promise.all(
      groups.map(async (group) => {
        const jobs = await this.#queue(groupQueueName(channel, group)).getJobs(['failed'], 0, end, true);
        return jobs
          .filter((job): job is Job => job !== undefined)
          .map((job) => this.#deadLetter(channel, group, job));
      }),
    );
    const all = lists.flat().sort((a, b) => a.failedAt - b.failedAt);
    return options.limit === undefined ? all : all.slice(0, options.limit);
  }

  async redrive(channel: string, options: { group?: string; ids?: readonly string[] } = {}): Promise<number> {
    this.#assertOpen();
    assertChannel(channel);
    const targets: { group: string; jobId: string }[] = [];
    if (options.ids) {
      for (const id of options.ids) {
        const parsed = parseDeadLetterId(id);
        if (parsed && (options.group === undefined || parsed.group === options.group)) targets.push(parsed);
      }
    } else {
      for (const group of await this.#groupsFor(channel, options.group)) {
        const jobs = await this.#queue(groupQueueName(channel, group)).getJobs(['failed'], 0, -1, true);
        for (const job of jobs) if (job?.id) targets.push({ group, jobId: job.id });
      }
    }
    let redriven = 0;
    for (const { group, jobId } of targets) {
      const job = await this.#queue(groupQueueName(channel, group)).getJob(jobId);
      if (!job) continue;
      try {
        // Moves the job back to waiting atomically, with a fresh attempt count.
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        redriven++;
      } catch {
        // No longer failed: someone else re-drove or removed it meanwhile.
      }
    }
    return redriven;
  }

  /**
   * With a group: that group's waiting, delayed, prioritised and in-flight jobs. Without: the
   * deepest group (the messages not yet handled by every group). Both count the backlog.
   */
  async depth(channel: string, options: { group?: string } = {}): Promise<number> {
    this.#assertOpen();
    assertChannel(channel);
    const groups = await this.#groupsFor(channel, options.group);
    const [backlog = 0, ...perGroup] = await Promise.all([
      this.#queue(backlogQueueName(channel)).getJobCountByTypes(...DEPTH_STATES),
      ...groups.map((group) =>
        this.#queue(groupQueueName(channel, group)).getJobCountByTypes(...DEPTH_STATES),
      ),
    ]);
    return backlog + Math.max(0, ...perGroup);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
    const owned = [
      ...(this.#ownsWorkerClient && this.#workerClient ? [this.#workerClient] : []),
      ...(this.#ownsClient ? [this.#client] : []),
    ];
    await Promise.all(
      owned.map(async (client) => {
        try {
          await client.quit();
        } catch {
          client.disconnect();
        }
      }),
    );
  }

  #assertOpen(): void {
    if (this.#closing) throw new TransportClosedError(ADAPTER, 'send or consume');
  }

  #jobFor(
    message: TransportMessage,
    options?: SendOptions,
  ): { name: string; data: TransportMessage; opts: JobsOptions } {
    checkSendOptions(ADAPTER, options);
    assertSendSupported(this, options);
    const checked = checkTransportMessage(ADAPTER, message);
    const priority = options?.priority ?? 0;
    if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) {
      throw new UnsupportedFeatureError(
        this.name,
        'priority',
        `an integer from 0 to ${MAX_PRIORITY}, got ${priority}`,
      );
    }
    const delay = options?.delayMs ?? 0;
    const key = options?.key ?? checked.key;
    const data: TransportMessage = {
      id: checked.id,
      type: checked.type,
      body: checked.body,
      headers: checked.headers,
      ...(key === undefined ? {} : { key }),
    };
    return {
      name: checked.type,
      data,
      opts: {
        jobId: options?.dedupeId === undefined ? newId() : dedupeJobId(options.dedupeId),
        ...(this.features.priority ? { priority: toBullmqPriority(priority) } : {}),
        ...(delay > 0 ? { delay: Math.ceil(delay) } : {}),
        attempts: UNLIMITED_ATTEMPTS,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: this.#keepCompleted,
        removeOnFail: false,
      },
    };
  }

  #deadLetter(channel: string, group: string, job: Job): DeadLetter {
    let message: TransportMessage;
    try {
      const decoded = decodeJobData(job.data);
      message = {
        id: decoded.id,
        type: decoded.type,
        body: decoded.body,
        headers: decoded.headers,
        ...(decoded.key === undefined ? {} : { key: decoded.key }),
      };
    } catch {
      message = { id: job.id ?? '', type: '', body: rawText(job.data), headers: {} };
    }
    return {
      id: deadLetterId(group, job.id ?? ''),
      channel,
      group,
      message,
      error: readError(job),
      attempts: job.attemptsMade,
      failedAt: job.finishedOn ?? job.timestamp,
    };
  }

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.#client, prefix: this.#prefix });
      queue.on('error', (error) => this.#logError('queue error', error, { queue: name }));
      this.#queues.set(name, queue);
    }
    return queue;
  }

  #workerConnection(): Redis {
    if (!this.#workerClient) {
      if (this.#client.options.maxRetriesPerRequest === null) {
        this.#workerClient = this.#client;
      } else {
        this.#workerClient = this.#client.duplicate({ maxRetriesPerRequest: null });
        this.#ownsWorkerClient = true;
        this.#workerClient.on('error', (error: Error) => this.#logError('redis connection error', error));
      }
    }
    return this.#workerClient;
  }

  #groups(channel: string): Promise<string[]> {
    return this.#client.smembers(groupsKey(this.#prefix, channel));
  }

  async #groupsFor(channel: string, group: string | undefined): Promise<string[]> {
    if (group === undefined) return (await this.#groups(channel)).sort();
    assertGroup(group);
    return [group];
  }

  /**
   * A send that found no group put its message in the backlog; a group may have registered in
   * between (and already adopted the backlog), so look again rather than leave the message behind.
   */
  async #adoptBacklogIfGroups(channel: string): Promise<void> {
    if ((await this.#client.scard(groupsKey(this.#prefix, channel))) > 0) await this.#adoptBacklog(channel);
  }

  /**
   * Copies backlog jobs into every registered group's queue under the same job id, then removes them
   * from the backlog. Same ids make concurrent adopters harmless (BullMQ ignores a known id).
   */
  async #adoptBacklog(channel: string): Promise<void> {
    const backlog = this.#queue(backlogQueueName(channel));
    for (;;) {
      const jobs = (await backlog.getJobs([...BACKLOG_STATES], 0, 499, true)).filter(
        (job): job is Job => job !== undefined,
      );
      if (jobs.length === 0) return;
      const groups = await this.#groups(channel);
      if (groups.length === 0) return;
      const now = Date.now();
      const copies = jobs.map((job) => ({
        name: job.name,
        data: job.data as unknown,
        opts: {
          ...job.opts,
          jobId: job.id ?? newId(),
          delay: Math.max(0, job.timestamp + job.delay - now),
          attempts: UNLIMITED_ATTEMPTS,
          backoff: { type: BACKOFF_TYPE },
        } satisfies JobsOptions,
      }));
      await Promise.all(groups.map((group) => this.#queue(groupQueueName(channel, group)).addBulk(copies)));
      const removed = await Promise.all(
        jobs.map((job) =>
          job.remove().then(
            () => true,
            () => false,
          ),
        ),
      );
      if (!removed.some(Boolean)) return;
    }
  }

  #logError(message: string, error: unknown, context: Record<string, unknown> = {}): void {
    this.#logger.error(`[bullmq] ${message}`, { ...context, error: describeError(error) });
  }
}

/**
 * A Transport on BullMQ. Each consumer group of a channel is its own BullMQ queue,
 * `<prefix>:<channel>.<group>`; `send` adds the message to the queue of every group registered on
 * the channel (a Redis set). Messages sent before any group exists wait in `<channel>.~backlog` and
 * go to the first group(s) to register.
 */
export function createBullmqTransport(options: BullmqTransportOptions = {}): BullmqTransport {
  return new BullmqTransportImpl(options);
}

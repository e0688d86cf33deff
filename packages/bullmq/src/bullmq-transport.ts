import {
  ConfigError,
  type ConsumeOptions,
  consoleLogger,
  type DeadLetter,
  type HealthCheck,
  InvalidArgumentError,
  type Logger,
  type MessageHandler,
  newId,
  type SendOptions,
  type Subscription,
  type TransportFeatures,
  type TransportMessage,
} from '@finaegis/core';
import {
  backoffDelay,
  checkConsumeArguments,
  failureDecision,
  formatCause,
  Lifecycle,
  toReceivedMessage,
} from '@finaegis/core/adapter';
import { DelayedError, type Job, type JobsOptions, type KeepJobs, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type ConsumerWorker, transportHealth } from './bullmq-health';
import {
  assertPositiveInteger,
  type BatchMessage,
  type BullmqTransport,
  type BullmqTransportOptions,
  DEFAULT_KEEP_COMPLETED,
  FEATURES,
} from './bullmq-options';
import {
  BACKOFF_TYPE,
  deadLetterError,
  deadLetterOf,
  decodeJobData,
  isForeignJob,
  type JobToAdd,
  jobFor,
  UNLIMITED_ATTEMPTS,
  workerKeepJobs,
} from './jobs';
import {
  ADAPTER,
  adoptedJobId,
  assertChannel,
  assertGroup,
  backlogQueueName,
  groupQueueName,
  groupsKey,
  parseDeadLetterId,
} from './names';

const DEPTH_STATES = ['waiting', 'delayed', 'active', 'prioritized'] as const;
const BACKLOG_STATES = ['prioritized', 'waiting', 'delayed'] as const;

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
  readonly #workers = new Set<ConsumerWorker>();
  readonly #lifecycle = new Lifecycle(ADAPTER);

  constructor(options: BullmqTransportOptions) {
    this.#options = options;
    this.features = options.priority === false ? Object.freeze({ ...FEATURES, priority: false }) : FEATURES;
    this.#prefix = options.prefix ?? 'finaegis';
    if (!this.#prefix || this.#prefix.includes(':')) {
      throw new ConfigError('prefix', this.#prefix, 'a non-empty string without ":"', { adapter: ADAPTER });
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
    const { group, concurrency, retry: policy } = checkConsumeArguments(ADAPTER, channel, handler, options);
    assertGroup(group);

    await this.#client.sadd(groupsKey(this.#prefix, channel), group);

    const processor = async (job: Job, token?: string): Promise<void> => {
      let message: TransportMessage;
      try {
        message = decodeJobData(job.data);
      } catch (error) {
        throw deadLetterError(error);
      }
      // A foreign job's retries are scheduled here (BullMQ counts those as starts, not attempts).
      const foreign = isForeignJob(job);
      const attempt = foreign ? Math.max(1, job.attemptsStarted ?? 1) : job.attemptsMade + 1;
      try {
        await handler(toReceivedMessage(message, { channel, group, attempt }));
      } catch (error) {
        const decision = failureDecision(error, attempt, policy);
        if (decision.action === 'dead-letter') throw deadLetterError(error);
        if (!foreign) throw error;
        await job.moveToDelayed(Date.now() + decision.delayMs, token);
        throw new DelayedError();
      }
    };

    const worker = new Worker(groupQueueName(channel, group), processor, {
      connection: this.#workerConnection(),
      prefix: this.#prefix,
      concurrency,
      lockDuration: this.#options.lockDurationMs ?? 6_000,
      stalledInterval: this.#options.stalledIntervalMs ?? 1_500,
      maxStalledCount: this.#options.maxStalledCount ?? 1,
      // For jobs added without these options (other producers): ours, not BullMQ's defaults.
      ...workerKeepJobs(this.#keepCompleted),
      settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(policy.backoff, attemptsMade) },
    });
    worker.on('error', (error) => this.#logError('worker error', error, { channel, group }));
    this.#options.onWorker?.(worker, { channel, group });
    const consumer: ConsumerWorker = { worker, channel, group };
    this.#workers.add(consumer);

    let closing: Promise<void> | undefined;
    const subscription: Subscription = {
      close: () => {
        closing ??= worker.close().finally(() => {
          this.#subscriptions.delete(subscription);
          this.#workers.delete(consumer);
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
          .map((job) => deadLetterOf(channel, group, job));
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

  /** Redis answering a PING, and each consumer's BullMQ worker running (see bullmq-health.ts). */
  health(): Promise<readonly HealthCheck[]> {
    return transportHealth(this.#lifecycle.closed ? undefined : this.#client, this.#workers);
  }

  close(): Promise<void> {
    return this.#lifecycle.close(() => this.#close());
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
    this.#lifecycle.assertOpen('send or consume');
  }

  #jobFor(message: TransportMessage, options?: SendOptions): JobToAdd {
    return jobFor(this, this.#keepCompleted, message, options);
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
          jobId: job.id === undefined ? newId() : adoptedJobId(job.id),
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
    this.#logger.error(`[bullmq] ${message}`, { ...context, error: formatCause(error) });
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

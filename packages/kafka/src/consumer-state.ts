/*
 * The state a consumer keeps while it handles records, shared by the modules that handle them:
 * kafka-consumer.ts (its kafkajs consumer and group), partition-batch.ts (batches and the fetch
 * hold), key-lanes.ts (one key at a time, retries), offset-commits.ts and dead-letters.ts.
 */
import type { Logger, MessageHandler, RetryPolicy } from '@finaegis/core';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { KafkaSettings } from './kafka-options';
import type { SendFormat } from './kafka-wire';
import type { OutageRider } from './outage';
import type { SendBatcher } from './send-batcher';
import type { KafkaTopics } from './topics';

/** What the parts of one transport share. */
export interface KafkaRuntime {
  readonly kafka: Kafka;
  readonly settings: KafkaSettings;
  readonly logger: Logger;
  readonly batcher: SendBatcher;
  readonly topics: KafkaTopics;
  readonly outage: OutageRider;
  /** Consumers running (joined their group and not closed). */
  readonly consumers: Set<ConsumerState>;
}

/** The records of one key in one batch, handled one at a time, in offset order. */
export interface Lane {
  readonly run: BatchRun;
  readonly indices: readonly number[];
  /** Position in `indices` of the record being handled. */
  at: number;
  /** Attempts made at that record so far. */
  attempt: number;
  /** What that record was read as, once its first attempt started (retries read it again). */
  format: SendFormat | undefined;
}

/** A batch whose records are being handled. */
export interface BatchRun {
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
  readonly hold: Hold;
  /** False once no record of the batch may start any more (see `handleBatch`). */
  readonly active: () => boolean;
  /** Marks a record finished: handled, skipped or dead-lettered. */
  readonly finish: (index: number) => void;
  /** Lanes not ended yet. */
  lanes: number;
  /** Why a lane ended early (a dead letter that could not be written), the first time it happened. */
  error: { readonly reason: unknown } | undefined;
  /** Called once every lane ended. */
  readonly ended: () => void;
}

/** Offsets waiting for a consumer's next commit request, and what that request's outcome is. */
export interface CommitRound {
  readonly offsets: Map<number, { readonly offset: string; readonly current: () => boolean }>;
  /** Resolves true once committed, false when the request failed (the failure is logged). */
  readonly done: Promise<boolean>;
  readonly settle: (committed: boolean) => void;
}

/** A batch kept inside kafkajs' `eachBatch` call. */
export interface Hold {
  /** Records of the batch finished so far. */
  progress: number;
  /** `progress` when the stall timer was last armed (-1 before it first saw this batch). */
  seen: number;
  /** Lanes of the batch waiting for a worker. */
  queued: number;
  /** Set once every record is handled: what is left is committing their offsets. */
  committing: boolean;
  /** Lets the batch go on in the background (set while it is kept). */
  release: () => void;
}

export interface ConsumerState {
  readonly runtime: KafkaRuntime;
  readonly channel: string;
  readonly group: string;
  readonly topic: string;
  /** The kafkajs consumer; replaced when kafkajs gave up on it during an outage. */
  consumer: Consumer;
  /** Called on each group join (the first one resolves `consume`). */
  onJoin: () => void;
  readonly handler: MessageHandler;
  readonly retry: RetryPolicy;
  /** Handlers running at once at most, across the partitions of this consumer. */
  readonly concurrency: number;
  /** Lanes waiting for a worker, oldest first. */
  readonly ready: Lane[];
  /** Worker loops running (at most `concurrency`); each runs one handler at a time. */
  workers: number;
  /** Set by close: no new handler starts, backoff waits end at once. */
  stopping: boolean;
  /** Set by crash: results of the handlers in flight are ignored; nothing more is committed. */
  crashed: boolean;
  /** Between kafkajs noticing a rebalance and the next join: no new record starts meanwhile. */
  rebalancing: boolean;
  /** Partitions of the topic this consumer owns (its assignment at the last group join). */
  assigned: ReadonlySet<number>;
  /**
   * Bumped for a partition each time a rebalance takes it away: work fetched before then no
   * longer resolves or commits offsets, even if the partition comes back later.
   */
  readonly epochs: Map<number, number>;
  /** Batches whose records are still being handled. */
  readonly inFlight: Set<Promise<void>>;
  /** Partitions whose batch is being handled inside kafkajs' `eachBatch` call. */
  readonly inside: Set<number>;
  /** Partitions paused while their batch is handled after `eachBatch` returned. */
  readonly background: Set<number>;
  /** Batches kept inside `eachBatch` (see `keep`). */
  readonly holds: Set<Hold>;
  /** Lets go of kept batches that stalled while another partition waits for a fetch. */
  stallTimer: NodeJS.Timeout | undefined;
  /** Records this consumer finished, and that count when the stall timer was last armed. */
  progress: number;
  progressSeen: number;
  /** Offsets to commit once the request in flight returns; one request at a time per consumer. */
  nextCommit: CommitRound | undefined;
  committing: Promise<void> | undefined;
  /** Resolves pending backoff waits when the consumer stops. */
  readonly wakeUps: Set<() => void>;
  closing: Promise<void> | undefined;
  /** When kafkajs first crashed this consumer for want of a broker, since it last joined its group. */
  downSince: number | undefined;
}

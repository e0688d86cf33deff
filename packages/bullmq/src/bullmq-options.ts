import {
  ConfigError,
  type Logger,
  type SendOptions,
  type Transport,
  type TransportFeatures,
  type TransportMessage,
} from '@finaegis/core';
import type { KeepJobs, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ADAPTER } from './names';

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
  /**
   * Lock of a job in flight, renewed every half of it while the handler runs; a consumer that stops
   * renewing it (SIGKILL, lost host) loses the job after this. Default 6,000, so with
   * `stalledIntervalMs` a dead worker's jobs run again elsewhere within about 8 s. Higher values
   * ride out longer pauses: an event loop blocked longer than this (a long synchronous handler)
   * loses the lock and the job is handled again (and after `maxStalledCount` such losses,
   * dead-lettered). BullMQ's own default is 30,000.
   */
  readonly lockDurationMs?: number;
  /** How often workers look for jobs whose lock expired and hand them out again. Default 1,500 (BullMQ's: 30,000). */
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
  /** Where worker and queue errors (lost connection, ...) are written. Default: `consoleLogger('finaegis.bullmq')`. */
  readonly logger?: Logger;
  /** Called with each BullMQ `Worker` the transport starts, e.g. to attach metrics to its events. */
  readonly onWorker?: (
    worker: Worker,
    consumer: { readonly channel: string; readonly group: string },
  ) => void;
}

export const FEATURES: TransportFeatures = Object.freeze({
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

export const DEFAULT_KEEP_COMPLETED: KeepJobs = { age: 3600, count: 10_000 };

/** @throws ConfigError naming the package unless `value` is absent or an integer >= 1. */
export function assertPositiveInteger(key: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new ConfigError(key, value, 'an integer of at least 1', { adapter: ADAPTER });
  }
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

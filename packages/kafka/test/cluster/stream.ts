// A keyed stream of events for the cluster tests: what was sent and acknowledged, what the
// consumer group handled (and how often, and in which order per key), and the checks on both.
import { appendFileSync } from 'node:fs';
import type { Logger, ReceivedMessage } from '@finaegis/core';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaTransport, type KafkaTransport, type KafkaTransportOptions } from '../../src/index';
import { sleep, waitUntil } from '../cluster';

/** What the transports reported, shown when a test fails: the why of a stuck consumer. */
export function noteLogger(logged: string[]): Logger {
  const note =
    (level: string) =>
    (message: string, context?: Record<string, unknown>): void => {
      logged.push(
        `${new Date().toISOString().slice(11, 23)} ${level} ${message} ${JSON.stringify(context ?? {})}`,
      );
    };
  return { debug() {}, info: note('info'), warn: note('warn'), error: note('error') };
}

/** How often the transports re-sent records kafkajs had reported sent without sending them. */
export function resends(logged: readonly string[]): number {
  return logged.filter((line) => line.includes('without sending')).length;
}

let clients = 0;
let written = 0;

/** How often a consumer was replaced after kafkajs gave up rejoining its group. */
export function rejoins(logged: readonly string[]): number {
  return logged.filter((line) => line.includes('starting a new consumer')).length;
}

/** Transport options for the cluster: quick rebalances, the replication left to the transport. */
export function clusterTransport(
  brokers: readonly string[],
  prefix: string,
  logged: string[],
  extra: Partial<KafkaTransportOptions> = {},
): KafkaTransport {
  const debugFile = process.env.FINAEGIS_KAFKAJS_LOG;
  const client = debugFile
    ? {
        kafka: new Kafka({
          brokers: [...brokers],
          clientId: `finaegis-cluster-tests-${++clients}`,
          logLevel: logLevel.DEBUG,
          retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 12 },
          logCreator:
            () =>
            ({ namespace, level, log }) => {
              const { message, timestamp, ...rest } = log;
              if ((written += 1) > 400_000) return;
              appendFileSync(
                debugFile,
                `${timestamp} ${level} ${namespace} ${message} ${JSON.stringify(rest).slice(0, 600)}\n`,
              );
            },
        }),
      }
    : { brokers: [...brokers] };
  return createKafkaTransport({
    ...client,
    clientId: 'finaegis-cluster-tests',
    topicPrefix: prefix,
    partitions: 6,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    rebalanceTimeoutMs: 8_000,
    logger: noteLogger(logged),
    ...extra,
  });
}

/** The consumer side: every delivery, counted per id, and the order of first deliveries per key. */
export class Handled {
  deliveries = 0;
  readonly count = new Map<string, number>();
  /** Per key, the sequence numbers in the order their handlers started. */
  readonly order = new Map<string, number[]>();
  /** When each id was first handled (ms since the epoch). */
  readonly firstAt = new Map<string, number>();

  readonly handler = async (message: ReceivedMessage): Promise<void> => {
    this.deliveries++;
    this.count.set(message.id, (this.count.get(message.id) ?? 0) + 1);
    if (!this.firstAt.has(message.id)) this.firstAt.set(message.id, Date.now());
    const key = message.key ?? '';
    const list = this.order.get(key) ?? [];
    list.push(Number(message.body));
    this.order.set(key, list);
  };

  get unique(): number {
    return this.count.size;
  }

  get duplicates(): number {
    return this.deliveries - this.count.size;
  }

  /** Keys whose events handled exactly once were not handled in the order they were sent. */
  outOfOrderKeys(): string[] {
    const bad: string[] = [];
    for (const [key, seqs] of this.order) {
      const once = seqs.filter((seq) => this.count.get(idOf(key, seq)) === 1);
      if (once.some((seq, i) => i > 0 && seq <= once[i - 1]!)) bad.push(key);
    }
    return bad;
  }

  /** Ids among `ids` never handled. */
  missing(ids: Iterable<string>): string[] {
    return [...ids].filter((id) => !this.count.has(id));
  }
}

export const idOf = (key: string, seq: number) => `${key}#${seq}`;

/**
 * Sends `total` events over `keys` keys at about `perSecond`, each key's events numbered 0, 1, 2...
 * in the order they are sent. Records when each send was made and whether it was acknowledged.
 */
export class KeyedStream {
  readonly acknowledged = new Set<string>();
  readonly rejected = new Map<string, unknown>();
  readonly sentAt = new Map<string, number>();
  /** Longest time from a send to its acknowledgement, in ms. */
  maxSendMs = 0;
  issued = 0;
  #stopped = false;

  constructor(
    private readonly transport: KafkaTransport,
    private readonly channel: string,
    private readonly options: { keys: number; total: number; perSecond: number },
  ) {}

  /** Ends the stream early (the sends already made still settle). */
  stop(): void {
    this.#stopped = true;
  }

  /** Sends everything; resolves when every send has settled. */
  async run(): Promise<void> {
    const { keys, total, perSecond } = this.options;
    const next = new Array<number>(keys).fill(0);
    const pending: Promise<void>[] = [];
    const tick = 20;
    const perTick = Math.max(1, Math.round((perSecond * tick) / 1000));
    const started = Date.now();
    while (this.issued < total && !this.#stopped) {
      for (let i = 0; i < perTick && this.issued < total; i++) {
        const k = this.issued % keys;
        const key = `k${k}`;
        const seq = next[k]!++;
        const id = idOf(key, seq);
        const at = Date.now();
        this.sentAt.set(id, at);
        this.issued++;
        pending.push(
          this.transport
            .send(this.channel, { id, type: 'cluster.Event', body: String(seq), headers: {}, key })
            .then(
              () => {
                this.acknowledged.add(id);
                this.maxSendMs = Math.max(this.maxSendMs, Date.now() - at);
              },
              (error: unknown) => {
                this.rejected.set(id, error);
              },
            ),
        );
      }
      const due = started + (this.issued / perTick) * tick;
      await sleep(Math.max(0, due - Date.now()));
    }
    await Promise.all(pending);
  }

  /** Resolves once `n` sends have been acknowledged. */
  whenAcknowledged(n: number): Promise<void> {
    return waitUntil(
      `${n} acknowledged sends`,
      () => (this.acknowledged.size >= n ? true : undefined),
      120_000,
    ).then(() => undefined);
  }

  /** The first rejection's error, for a report. */
  firstRejection(): string {
    const [first] = this.rejected.values();
    return first === undefined ? 'none' : String((first as Error).message ?? first);
  }

  /** Longest time from a send to its first handling, over the events handled. */
  maxEndToEndMs(handled: Handled): number {
    let max = 0;
    for (const [id, at] of handled.firstAt) {
      const sent = this.sentAt.get(id);
      if (sent !== undefined) max = Math.max(max, at - sent);
    }
    return max;
  }
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

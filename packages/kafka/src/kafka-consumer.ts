/*
 * A consumer of a channel in a group: its kafkajs consumer, joining the group, rebalances, the
 * restarts of an outage (`outageTimeoutMs`, a replacement consumer, `BrokerUnavailableError`),
 * and closing. What it does with the records it fetches is partition-batch.ts's job.
 */
import type { MessageHandler, Subscription } from '@finaegis/core';
import { formatCause, type ResolvedConsumeOptions, withTimeout } from '@finaegis/core/adapter';
import type { Consumer } from 'kafkajs';
import { BrokerUnavailableError } from './broker-unavailable-error';
import type { ConsumerState, KafkaRuntime } from './consumer-state';
import { PREFIX } from './kafka-options';
import { KafkaTimeoutError } from './kafka-timeout-error';
import { isBrokerUnreachable, wakeableWait, whileTopicUnknown } from './outage';
import { handleBatch, releaseHolds } from './partition-batch';

// After this long without joining, the consumer logs that it is waiting (and when it joined).
const JOIN_WAIT_NOTICE_MS = 2_000;

/**
 * Starts a consumer of `channel` in `options.group`; resolves once it joined its group.
 * @throws KafkaTimeoutError when it did not join within `joinTimeoutMs`.
 */
export async function startGroupConsumer(
  runtime: KafkaRuntime,
  channel: string,
  handler: MessageHandler,
  { group, concurrency, retry }: ResolvedConsumeOptions,
): Promise<Subscription> {
  const { topics, settings } = runtime;
  const topic = topics.topicName(channel);
  await topics.ensureChannelTopics(topic);

  let joinedNow!: () => void;
  const joined = withTimeout(
    new Promise<void>((resolve) => {
      joinedNow = resolve;
    }),
    settings.joinTimeoutMs,
    () => new KafkaTimeoutError(`join the group of ${topic} as ${group}`, settings.joinTimeoutMs),
  );
  // Awaited below; this only keeps a late timeout after a failed connect from going unhandled.
  joined.catch(() => {});
  const state: ConsumerState = {
    runtime,
    downSince: undefined,
    crashed: false,
    rebalancing: false,
    assigned: new Set(),
    epochs: new Map(),
    inFlight: new Set(),
    inside: new Set(),
    background: new Set(),
    holds: new Set(),
    stallTimer: undefined,
    progress: 0,
    progressSeen: 0,
    nextCommit: undefined,
    committing: undefined,
    channel,
    group,
    topic,
    // Set right below: its event listeners need this state.
    consumer: undefined as unknown as Consumer,
    handler,
    retry,
    concurrency,
    ready: [],
    workers: 0,
    stopping: false,
    wakeUps: new Set(),
    closing: undefined,
    onJoin: () => joinedNow(),
  };
  state.consumer = newConsumer(state);
  // A join that takes long is usually a member that died without leaving: the group waits for its
  // session to time out before it hands out its partitions. Say so instead of looking hung.
  const startedAt = Date.now();
  const waiting = setTimeout(() => {
    runtime.logger.info(`${PREFIX} waiting to join consumer group ${group} for ${topic}`, {
      group,
      topic,
      waitedMs: Date.now() - startedAt,
      sessionTimeoutMs: settings.sessionTimeout,
      why: 'the group reassigns partitions once the members it waits for rejoin or their session times out',
    });
  }, JOIN_WAIT_NOTICE_MS);
  joined.then(
    () => {
      clearTimeout(waiting);
      const waitedMs = Date.now() - startedAt;
      if (waitedMs >= JOIN_WAIT_NOTICE_MS) {
        runtime.logger.info(`${PREFIX} joined consumer group ${group} for ${topic}`, {
          group,
          topic,
          waitedMs,
        });
      }
    },
    () => clearTimeout(waiting),
  );
  try {
    await startConsumer(state);
    // Resolving only once the group has assigned partitions: a send made right after `consume`
    // returns is then seen by this group even with `startFrom: 'latest'`.
    await joined;
  } catch (error) {
    state.stopping = true;
    await state.consumer.disconnect().catch(() => {});
    throw error;
  }
  state.onJoin = () => {};
  runtime.consumers.add(state);
  return { close: () => closeConsumer(state) };
}

/** A kafkajs consumer for the state's group, its events wired to the state. */
function newConsumer(state: ConsumerState): Consumer {
  const { topic, group, channel, runtime } = state;
  const { settings, logger } = runtime;
  const consumer = runtime.kafka.consumer({
    groupId: runtime.topics.groupId(channel, group),
    sessionTimeout: settings.sessionTimeout,
    heartbeatInterval: settings.heartbeatInterval,
    rebalanceTimeout: settings.rebalanceTimeout,
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
    // kafkajs restarts a consumer that crashed on a retriable error (no broker) again and
    // again; it stops once this says no, and the CRASH listener below takes over.
    retry: {
      restartOnFailure: async (error: Error) => {
        if (state.stopping) return false;
        if (!isBrokerUnreachable(error)) return true;
        state.downSince ??= Date.now();
        return Date.now() - state.downSince < settings.outageTimeoutMs;
      },
    },
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    if (state.consumer !== consumer) return;
    const now = new Set(payload.memberAssignment[topic] ?? []);
    for (const partition of state.assigned) {
      if (!now.has(partition)) state.epochs.set(partition, (state.epochs.get(partition) ?? 0) + 1);
    }
    state.assigned = now;
    state.rebalancing = false;
    state.downSince = undefined;
    releaseHolds(state);
    state.onJoin();
  });
  // Records already started finish (and commit, which a rebalancing group still accepts); the
  // rest wait for whoever owns their partition after the rebalance, instead of being handled
  // here and then again there.
  consumer.on(consumer.events.REBALANCING, () => {
    if (state.consumer !== consumer) return;
    state.rebalancing = true;
    releaseHolds(state);
  });
  // kafkajs gives a rejoin up when the group's new coordinator is still loading it (a broker
  // restart moved it) and fetches again in the generation it had, without a GROUP_JOIN, still
  // committing to the old coordinator, which refuses: no record would start and no offset be
  // committed until the group happened to rebalance again. A consumer that joins afresh instead,
  // started outside kafkajs' call: disconnecting inside it, while kafkajs starts its fetchers,
  // leaves a fetcher that kafkajs never stops spinning without yielding.
  let abandoned = false;
  consumer.on(consumer.events.FETCH_START, () => {
    if (state.consumer !== consumer || !state.rebalancing || state.stopping || abandoned) return;
    abandoned = true;
    setImmediate(() => void replaceConsumer(state));
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (state.consumer !== consumer) return;
    logger.error(`${PREFIX} the consumer of ${topic} crashed`, {
      group,
      error: formatCause(payload.error),
      restart: payload.restart,
    });
    if (!payload.restart && !state.stopping) afterFinalCrash(state, payload.error);
  });
  return consumer;
}

/** Connects the state's consumer, subscribes it to the channel's topic and starts it. */
async function startConsumer(state: ConsumerState): Promise<void> {
  const { consumer, topic, concurrency } = state;
  const { settings } = state.runtime;
  await consumer.connect();
  // The topic exists (ensureChannelTopics), but a busy broker (on a cluster: the one asked) may
  // not list it yet.
  await whileTopicUnknown(10, () =>
    consumer.subscribe({ topics: [topic], fromBeginning: settings.fromBeginning }),
  );
  await consumer.run({
    // Offsets are committed by handleBatch, once the records before them are handled.
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Enough kafkajs workers for every partition's batch of a fetch to start at once;
    // `concurrency` itself is enforced by the workers, across partitions.
    partitionsConsumedConcurrently: Math.max(concurrency, settings.partitions),
    eachBatch: (payload) => handleBatch(state, payload),
  });
}

/**
 * kafkajs stopped a consumer for good. Some of its errors for a missing broker are final to
 * kafkajs although a broker may be back a moment later (`KafkaJSGroupCoordinatorNotFound`, thrown
 * when no broker answered where the group's coordinator is, e.g. right after a restart): within
 * `outageTimeoutMs` the transport then starts a new kafkajs consumer for the same group itself.
 * Otherwise the consumer is over, reported once, with a typed error when the brokers stayed away.
 */
function afterFinalCrash(state: ConsumerState, error: Error): void {
  const { settings, logger, consumers } = state.runtime;
  if (isBrokerUnreachable(error)) {
    state.downSince ??= Date.now();
    if (Date.now() - state.downSince < settings.outageTimeoutMs) {
      void replaceConsumer(state);
      return;
    }
  }
  state.stopping = true;
  consumers.delete(state);
  const failure =
    state.downSince !== undefined && isBrokerUnreachable(error)
      ? new BrokerUnavailableError(
          `consume ${state.topic} as group ${state.group}`,
          Date.now() - state.downSince,
          { cause: error },
        )
      : error;
  logger.error(`${PREFIX} the consumer of ${state.topic} stopped for good`, {
    group: state.group,
    error: formatCause(failure),
  });
  settings.onConsumerFailure?.(failure, { channel: state.channel, group: state.group });
}

/** Starts a new kafkajs consumer in place of one kafkajs gave up on (see `afterFinalCrash`). */
async function replaceConsumer(state: ConsumerState): Promise<void> {
  const old = state.consumer;
  await old.disconnect().catch(() => {});
  await wakeableWait(state.wakeUps, 1_000);
  if (state.stopping || state.consumer !== old) return;
  state.rebalancing = true;
  state.consumer = newConsumer(state);
  state.runtime.logger.warn(`${PREFIX} starting a new consumer of ${state.topic} after kafkajs gave up`, {
    group: state.group,
  });
  try {
    await startConsumer(state);
  } catch (error) {
    // Failures after start-up come as CRASH events; this is connect or subscribe failing.
    if (!state.stopping) afterFinalCrash(state, error as Error);
  }
}

/**
 * Stops the consumer: handlers in flight finish and their offsets are committed (unless it
 * crashed), then it leaves the group so that its partitions move at once.
 */
export function closeConsumer(state: ConsumerState): Promise<void> {
  state.closing ??= (async () => {
    state.stopping = true;
    for (const wake of [...state.wakeUps]) wake();
    releaseHolds(state);
    clearTimeout(state.stallTimer);
    if (!state.crashed) while (state.inFlight.size > 0) await Promise.allSettled([...state.inFlight]);
    await state.consumer.disconnect();
    state.runtime.consumers.delete(state);
  })();
  return state.closing;
}

/**
 * Marks the consumer crashed (for tests of a dying process): it stops at once without waiting for
 * its handlers, whose results are ignored, and commits nothing more. `closeConsumer` then leaves
 * the group.
 */
export function crashConsumer(state: ConsumerState): void {
  state.crashed = true;
  state.stopping = true;
  for (const wake of [...state.wakeUps]) wake();
  releaseHolds(state);
}

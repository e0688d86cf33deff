/*
 * Partition batches and the fetch hold. kafkajs fetches from a broker again only once every batch
 * of the previous fetch returned, so a batch that waited for its handlers would hold up every
 * partition. A batch is therefore kept inside kafkajs' call only while no other partition could be
 * fetched (see `keep`); otherwise its partition is paused, its records go on in the background,
 * and the partition resumes once they finished.
 */
import { formatCause } from '@finaegis/core/adapter';
import type { EachBatchPayload } from 'kafkajs';
import type { BatchRun, ConsumerState, Hold } from './consumer-state';
import { PREFIX } from './kafka-options';
import { schedule } from './key-lanes';
import { commitOffset } from './offset-commits';

/** While a batch is being handled, its finished prefix is committed at least this often. */
const COMMIT_EVERY_MS = 250;

/**
 * A batch kept inside kafkajs' fetch loop (see `keep`) is let go once it finished no record for
 * this long while another partition could be fetched.
 */
const STALL_MS = 10;

/** FNV-1a over the bytes, as a non-negative 32-bit integer. */
function hashBytes(bytes: Buffer): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

/**
 * kafkajs' `eachBatch`: the batch's records run one key at a time, in order (key-lanes.ts), the
 * offsets of the finished prefix are resolved and committed, and the partition is not fetched
 * again before they are. The batch is kept or let go as the file's comment says.
 */
export async function handleBatch(state: ConsumerState, payload: EachBatchPayload): Promise<void> {
  const { logger } = state.runtime;
  const { batch, resolveOffset, pause, heartbeat } = payload;
  const messages = batch.messages;
  const count = messages.length;
  if (count === 0 || state.stopping) return;
  const { partition } = batch;
  const epoch = state.epochs.get(partition) ?? 0;
  // A rebalance that leaves the partition here does not stop its work: kafkajs keeps it paused,
  // and the offsets resolved later go to the new generation's commit.
  const current = () =>
    !state.crashed && state.assigned.has(partition) && (state.epochs.get(partition) ?? 0) === epoch;
  const active = () => current() && !state.stopping && !state.rebalancing;
  const done = new Uint8Array(count);
  const hold: Hold = { progress: 0, seen: -1, queued: 0, committing: false, release: () => {} };
  let resolvedUpTo = 0;
  let committedUpTo = 0;
  let lastCommit = Date.now();
  const commit = async () => {
    if (resolvedUpTo <= committedUpTo || !current()) return;
    const upTo = resolvedUpTo;
    lastCommit = Date.now();
    // kafkajs fetches the partition again from its resolved offset. Resolving here, not per
    // record: every commit (and the last one of the batch) comes through, and kafkajs parses
    // offsets as 64-bit numbers on each resolve.
    resolveOffset(messages[upTo - 1]!.offset);
    const offset = String(Number(messages[upTo - 1]!.offset) + 1);
    if (await commitOffset(state, partition, offset, current)) {
      committedUpTo = Math.max(committedUpTo, upTo);
    }
  };
  // Only a contiguous prefix of finished records may be resolved and committed, and only while
  // this consumer still owns the partition.
  const settle = (index: number) => {
    done[index] = 1;
    hold.progress++;
    state.progress++;
    if (index !== resolvedUpTo || !current()) return;
    while (resolvedUpTo < count && done[resolvedUpTo] === 1) resolvedUpTo++;
  };
  // One lane per key, its records in offset order; a record without a key is a lane of its own.
  // Lanes are found by a hash of the key's bytes, not by the key as a string (an allocation
  // per record). Two keys with the same hash share a lane: their records then run one at a time
  // too, which costs concurrency, never order. A record without a key gets a lane of its own.
  const lanes = new Map<number, number[]>();
  let unkeyed = -1;
  for (let index = 0; index < count; index++) {
    const key = messages[index]!.key;
    const name = key === null ? unkeyed-- : hashBytes(key);
    const lane = lanes.get(name);
    if (lane) lane.push(index);
    else lanes.set(name, [index]);
  }
  let ended!: () => void;
  const handled = new Promise<void>((resolve) => {
    ended = resolve;
  });
  const run: BatchRun = {
    partition,
    messages,
    hold,
    active,
    finish: (index) => {
      settle(index);
      // A long batch commits as it goes, so that a crash repeats little work. Not awaited: the
      // batch's last commit (which close waits for) goes after this one.
      if (Date.now() - lastCommit >= COMMIT_EVERY_MS) void commit();
    },
    lanes: lanes.size,
    error: undefined,
    ended,
  };
  for (const indices of lanes.values()) {
    schedule(state, { run, indices, at: 0, attempt: 0, format: undefined });
  }
  const finished = (async () => {
    await handled;
    hold.committing = true;
    await commit();
    if (run.error) {
      logger.error(`${PREFIX} a record could not be handled nor dead-lettered; it will be delivered again`, {
        topic: batch.topic,
        partition,
        error: formatCause(run.error.reason),
      });
      // Fetch again from the last commit, so the unfinished records come back.
      if (current() && !state.stopping) {
        const from = messages[resolvedUpTo]!.offset;
        state.consumer.seek({ topic: batch.topic, partition, offset: from });
      }
    }
  })()
    .catch((error: unknown) => {
      logger.error(`${PREFIX} a batch ended with an error; its records may be delivered again`, {
        topic: batch.topic,
        partition,
        error: formatCause(error),
      });
    })
    .finally(() => state.inFlight.delete(finished));
  state.inFlight.add(finished);
  if (await keep(state, partition, hold, finished, heartbeat)) {
    // Returning lets kafkajs fetch this partition again: batches kept elsewhere must not make
    // it wait for long.
    watchStalls(state);
    return;
  }
  const resume = pause();
  state.background.add(partition);
  void finished.finally(() => {
    state.background.delete(partition);
    // After a rebalance or a crash the partition may belong to another consumer: resuming it
    // here only matters if it is still ours, and then its unfinished records are fetched again.
    if (!state.crashed) resume();
    watchStalls(state);
  });
}

/**
 * Keeps a batch inside kafkajs' `eachBatch` call until its records finished (true), or until it
 * is let go (false): at once when the group rebalances, the consumer stops or a heartbeat fails;
 * and when another partition of this consumer could be fetched (its batch returned, it resumed,
 * or it had nothing in the last fetch) while this batch finished no record for `STALL_MS`. A
 * batch let go goes on in the background with its partition paused. Kept batches send the
 * heartbeats kafkajs would send between fetches.
 *
 * Pausing every batch instead would cost more than the pause: kafkajs, finding every partition
 * of a fetch paused, sleeps `maxWaitTimeInMs` before it looks again, even if they all resumed
 * a millisecond later; and batches let go as soon as another finished would split each fetch
 * into many small ones.
 */
function keep(
  state: ConsumerState,
  partition: number,
  hold: Hold,
  finished: Promise<void>,
  heartbeat: () => Promise<void>,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let over = false;
    const end = (handled: boolean) => {
      if (over) return;
      over = true;
      state.holds.delete(kept);
      state.inside.delete(partition);
      clearImmediate(check);
      clearInterval(beat);
      resolve(handled);
    };
    const kept = hold;
    kept.release = () => end(false);
    state.holds.add(kept);
    state.inside.add(partition);
    void finished.then(() => end(true));
    // kafkajs starts the batches of one fetch in one go; one tick later, a partition that is
    // neither kept nor running in the background is waiting for the next fetch.
    const check = setImmediate(() => {
      if (state.stopping || state.rebalancing) kept.release();
      else watchStalls(state);
    });
    const beat = setInterval(() => {
      heartbeat().catch(kept.release);
    }, state.runtime.settings.heartbeatInterval);
  });
}

/** Whether a partition of this consumer could be fetched now. */
function someoneWaits(state: ConsumerState): boolean {
  for (const partition of state.assigned) {
    if (!state.inside.has(partition) && !state.background.has(partition)) return true;
  }
  return false;
}

/**
 * While a partition waits for a fetch, lets go of kept batches that stalled: that finished no
 * record for `STALL_MS`, other than by waiting for workers that other records kept busy.
 */
function watchStalls(state: ConsumerState): void {
  if (state.stallTimer !== undefined || state.holds.size === 0 || !someoneWaits(state)) return;
  for (const hold of state.holds) hold.seen = hold.progress;
  state.progressSeen = state.progress;
  const armed = performance.now();
  state.stallTimer = setTimeout(() => {
    state.stallTimer = undefined;
    if (!someoneWaits(state)) return;
    // A timer that fired late means this process was busy: that window says nothing of stalls.
    if (performance.now() - armed > 2 * STALL_MS) {
      watchStalls(state);
      return;
    }
    const busy = state.progress !== state.progressSeen;
    for (const hold of [...state.holds]) {
      if (hold.progress === hold.seen && !hold.committing && !(busy && hold.queued > 0)) hold.release();
    }
    watchStalls(state);
  }, STALL_MS);
}

/** Lets every kept batch go on in the background (rebalance, stop, crash). */
export function releaseHolds(state: ConsumerState): void {
  for (const hold of [...state.holds]) hold.release();
}

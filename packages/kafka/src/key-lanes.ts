/*
 * Key lanes: the records of one key in a batch run one at a time, in offset order, on the
 * consumer's workers (at most `concurrency` handlers at once across partitions). Retries wait their
 * backoff and dead letters are written outside the workers, holding up only their lane.
 */
import type { ReceivedMessage, TransportMessage } from '@finaegis/core';
import { failureDecision, toReceivedMessage } from '@finaegis/core/adapter';
import type { ConsumerState, Lane } from './consumer-state';
import { writeDeadLetter } from './dead-letters';
import { decodeRecord, headerText, type RecordFormat, TARGET_GROUP_HEADER } from './kafka-wire';
import { wakeableWait } from './outage';

/** Queues a lane for a worker, and starts one if fewer than `concurrency` run. */
export function schedule(state: ConsumerState, lane: Lane): void {
  state.ready.push(lane);
  lane.run.hold.queued++;
  if (state.workers < state.concurrency) void work(state);
}

/**
 * A worker: takes lanes oldest first and makes one attempt at each one's current record. A lane
 * with more to do goes to the back of the queue, so that batches and keys take turns.
 */
async function work(state: ConsumerState): Promise<void> {
  state.workers++;
  try {
    for (let lane = state.ready.shift(); lane !== undefined; lane = state.ready.shift()) {
      lane.run.hold.queued--;
      // The handler is awaited here rather than in a helper: one promise less per record.
      const received = begin(state, lane);
      if (received === undefined) continue;
      let failure: unknown;
      let failed = false;
      try {
        await state.handler(received);
      } catch (error) {
        failed = true;
        failure = error;
      }
      conclude(state, lane, failed, failure);
    }
  } finally {
    state.workers--;
  }
}

/**
 * Starts an attempt at a lane's current record: the message to hand to the handler, or
 * undefined when there is nothing to hand over. A lane ends without finishing its record when
 * the consumer stops or lost the partition: the record stays uncommitted and its next owner
 * handles it again.
 */
function begin(state: ConsumerState, lane: Lane): ReceivedMessage | undefined {
  const { run } = lane;
  if (!run.active()) {
    endLane(lane);
    return undefined;
  }
  const index = lane.indices[lane.at]!;
  const record = run.messages[index]!;
  let message: TransportMessage;
  if (lane.format === undefined) {
    if (record.headers?.[TARGET_GROUP_HEADER] !== undefined) {
      const target = headerText(record.headers, TARGET_GROUP_HEADER);
      if (target !== undefined && target !== state.group) {
        advance(state, lane, index);
        return undefined;
      }
    }
    try {
      const decoded = decodeRecord(record);
      message = decoded.message;
      lane.format = decoded.format;
    } catch (error) {
      const raw = record.value === null ? '' : record.value.toString();
      const id = `${state.topic}-${run.partition}-${record.offset}`;
      deadLetterThen(state, lane, index, { id, type: '', body: raw, headers: {} }, 'undecodable', error, 1);
      return undefined;
    }
  } else {
    // A retry gets a message of its own, read from the record again, so that what an earlier
    // attempt's handler changed in its message does not carry over. It was read before, so it is now.
    message = decodeRecord(record).message;
  }
  // Freshly decoded, so the handler may have it as it is.
  return toReceivedMessage(message, {
    channel: state.channel,
    group: state.group,
    attempt: ++lane.attempt,
    partition: run.partition,
  });
}

/** After the handler of a lane's current record returned or threw: what comes next. */
function conclude(state: ConsumerState, lane: Lane, failed: boolean, failure: unknown): void {
  const index = lane.indices[lane.at]!;
  if (state.crashed) {
    endLane(lane);
    return;
  }
  if (!failed) {
    advance(state, lane, index);
    return;
  }
  const decision = failureDecision(failure, lane.attempt, state.retry);
  if (decision.action === 'retry') {
    retryLater(state, lane, decision.delayMs);
    return;
  }
  // The dead letter keeps the message as it came, not as the last handler left it.
  const message = decodeRecord(lane.run.messages[index]!).message;
  deadLetterThen(state, lane, index, message, lane.format!, failure, lane.attempt);
}

/** The lane's record is finished: on to its next record, or the lane ends. */
function advance(state: ConsumerState, lane: Lane, index: number): void {
  lane.run.finish(index);
  lane.at++;
  lane.attempt = 0;
  lane.format = undefined;
  if (lane.at < lane.indices.length) schedule(state, lane);
  else endLane(lane);
}

function endLane(lane: Lane): void {
  if (--lane.run.lanes === 0) lane.run.ended();
}

/** Queues the lane again once its backoff passed (at once when the consumer stops). */
function retryLater(state: ConsumerState, lane: Lane, ms: number): void {
  const again = () => {
    if (lane.run.active()) schedule(state, lane);
    else endLane(lane);
  };
  if (ms <= 0 || state.stopping) {
    again();
    return;
  }
  void wakeableWait(state.wakeUps, ms).then(again);
}

/**
 * Dead-letters the lane's record, then goes on with the lane. If the dead letter cannot be
 * written, the lane ends there: its record and those after it are delivered again.
 */
function deadLetterThen(
  state: ConsumerState,
  lane: Lane,
  index: number,
  message: TransportMessage,
  format: RecordFormat,
  error: unknown,
  attempts: number,
): void {
  const record = { partition: lane.run.partition, message: lane.run.messages[index]!, format };
  writeDeadLetter(state, message, record, error, attempts).then(
    () => advance(state, lane, index),
    (reason: unknown) => {
      lane.run.error ??= { reason };
      endLane(lane);
    },
  );
}

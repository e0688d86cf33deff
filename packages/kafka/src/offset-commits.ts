import { formatCause } from '@finaegis/core/adapter';
import type { ConsumerState } from './consumer-state';
import { PREFIX } from './kafka-options';

/**
 * Commits a partition's offset with the consumer's next commit request. Requests go one at a
 * time, each with the latest offset of every partition that asked meanwhile: the batches of a
 * fetch that finish together cost the broker one request, not one each.
 */
export function commitOffset(
  state: ConsumerState,
  partition: number,
  offset: string,
  current: () => boolean,
): Promise<boolean> {
  let round = state.nextCommit;
  if (round === undefined) {
    let settle!: (committed: boolean) => void;
    const done = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    round = { offsets: new Map(), done, settle };
    state.nextCommit = round;
  }
  const queued = round.offsets.get(partition);
  if (queued === undefined || Number(queued.offset) < Number(offset)) {
    round.offsets.set(partition, { offset, current });
  }
  state.committing ??= commitRounds(state);
  return round.done;
}

async function commitRounds(state: ConsumerState): Promise<void> {
  try {
    for (let round = state.nextCommit; round; round = state.nextCommit) {
      state.nextCommit = undefined;
      // Only partitions this consumer still owns, in the generation their records came from.
      const offsets = [...round.offsets]
        .filter(([, queued]) => queued.current())
        .map(([partition, queued]) => ({ topic: state.topic, partition, offset: queued.offset }));
      let committed = true;
      if (offsets.length > 0) {
        try {
          await state.consumer.commitOffsets(offsets);
        } catch (error) {
          committed = false;
          state.runtime.logger.warn(`${PREFIX} offset commit failed; those records may be delivered again`, {
            topic: state.topic,
            partitions: offsets.map((o) => o.partition),
            error: formatCause(error),
          });
        }
      }
      round.settle(committed);
    }
  } finally {
    state.committing = undefined;
  }
}

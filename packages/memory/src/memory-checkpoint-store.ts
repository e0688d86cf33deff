import type { CheckpointStore } from '@finaegis/core';
import { currentStaging, type StagingParticipant } from './staging';
import { checkCount, checkProjection, restoreEntry } from './store-checks';

/**
 * Projection checkpoints in a Map. Inside a transaction of a `MemoryTransactionManager` a save is
 * staged and written at commit (dropped on rollback); the transaction loads its own value.
 */
class MemoryCheckpointStore implements CheckpointStore {
  readonly #positions = new Map<string, number>();
  readonly #participant: StagingParticipant<Map<string, number>> = {
    prepareCommit: (staged) => () => {
      for (const [projection, position] of staged) this.#positions.set(projection, position);
    },
  };

  async load(projection: string): Promise<number> {
    checkProjection(projection);
    return (
      currentStaging()?.readable(this.#participant)?.get(projection) ?? this.#positions.get(projection) ?? 0
    );
  }

  async save(projection: string, position: number): Promise<void> {
    checkProjection(projection);
    checkCount(position, 'position', 0);
    const staging = currentStaging();
    if (staging === undefined) {
      this.#positions.set(projection, position);
      return;
    }
    const staged = staging.writable(this.#participant, () => new Map<string, number>(), 'save');
    const replaced = staged.get(projection);
    staged.set(projection, position);
    staging.undoable(() => restoreEntry(staged, projection, replaced));
  }
}

/** Creates an in-process checkpoint store (see {@link MemoryCheckpointStore}). */
export function createMemoryCheckpointStore(): MemoryCheckpointStore {
  return new MemoryCheckpointStore();
}

export type { MemoryCheckpointStore };

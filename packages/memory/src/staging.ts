import { currentTransaction, type TransactionContext, UnitOfWorkError } from '@finaegis/core';

/**
 * A memory store that holds writes made inside a memory transaction until it commits. Internal:
 * the transaction manager and the stores of this package meet here, nothing else sees it.
 */
export interface StagingParticipant<S> {
  /**
   * Checks what the transaction staged here against the committed state (throwing, e.g.
   * `ConcurrencyError`, when it no longer fits) and returns the function that writes it.
   * Must be synchronous, and the returned function must not throw: the manager checks every
   * participant, then writes every one, with no await in between, so the commit is all or nothing.
   */
  prepareCommit(staged: S): () => void;
}

type StagingState = 'open' | 'committed' | 'rolled back';

/** The writes one memory transaction holds, per store, in the order they were made. */
export class Staging {
  readonly #tx: TransactionContext;
  // A Map keeps insertion order: stores are committed in the order they were first written.
  readonly #parts = new Map<StagingParticipant<never>, unknown>();
  #state: StagingState = 'open';

  constructor(tx: TransactionContext) {
    this.#tx = tx;
  }

  /**
   * The participant's staged writes in this transaction, made on first use.
   * @throws UnitOfWorkError when the transaction has already committed or rolled back (work that
   *   outlived its transaction, e.g. after a timeout, must not write behind its back).
   */
  writable<S>(participant: StagingParticipant<S>, create: () => S, what: string): S {
    if (this.#state !== 'open') {
      throw new UnitOfWorkError(
        `[@finaegis/memory] ${what}: transaction ${this.#tx.id} is already ${this.#state} (work that outlived its transaction, e.g. after a timeout)`,
      );
    }
    const key = participant as StagingParticipant<never>;
    let staged = this.#parts.get(key) as S | undefined;
    if (staged === undefined) {
      staged = create();
      this.#parts.set(key, staged);
    }
    return staged;
  }

  /** What the participant staged, for reads; nothing once the transaction is over. */
  readable<S>(participant: StagingParticipant<S>): S | undefined {
    if (this.#state !== 'open') return undefined;
    return this.#parts.get(participant as StagingParticipant<never>) as S | undefined;
  }

  /** Checks, then writes, everything staged. On a failed check nothing is written and it rolls back. */
  commit(): void {
    if (this.#state !== 'open') return;
    try {
      const writes: (() => void)[] = [];
      for (const [participant, staged] of this.#parts) {
        writes.push((participant as StagingParticipant<unknown>).prepareCommit(staged));
      }
      this.#state = 'committed';
      for (const write of writes) write();
    } catch (error) {
      this.rollback();
      throw error;
    }
    this.#parts.clear();
  }

  /** Drops everything staged. */
  rollback(): void {
    if (this.#state !== 'open') return;
    this.#state = 'rolled back';
    this.#parts.clear();
  }
}

// Keyed by the context the memory manager made, so a store can tell its transactions from those
// of other managers (which it does not take part in) without a public field on the context.
const stagings = new WeakMap<TransactionContext, Staging>();

/** @internal Opens the staging area of a new memory transaction. */
export function openStaging(tx: TransactionContext): Staging {
  const staging = new Staging(tx);
  stagings.set(tx, staging);
  return staging;
}

/** The staging area of the memory transaction running in this async context, if there is one. */
export function currentStaging(): Staging | undefined {
  const tx = currentTransaction();
  return tx === undefined ? undefined : stagings.get(tx);
}

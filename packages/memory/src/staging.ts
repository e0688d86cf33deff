import { AsyncLocalStorage } from 'node:async_hooks';
import { currentTransaction, type TransactionContext, UnitOfWorkError } from '@finaegis/core';

/**
 * A memory store that holds writes made inside a memory transaction until it commits. Internal:
 * the transaction manager and the stores of this package meet here, nothing else sees it.
 * @internal
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

type StagingState = 'open' | 'committed' | 'rolled back' | 'released';

/**
 * What one memory transaction holds, shared by its outer context and the contexts of its
 * savepoints: a savepoint writes into the same staged state (so its reads see everything written
 * before it, and a resolved savepoint needs no merge), and undoes its own writes when it fails.
 */
class StagedTransaction {
  // A Map keeps insertion order: stores are committed in the order they were first written.
  readonly parts = new Map<StagingParticipant<never>, unknown>();
  /**
   * How to take back each write made while a savepoint was open, oldest first. Writes only ever
   * undo in reverse order, so each entry may assume every later write is already undone.
   */
  readonly undo: (() => void)[] = [];
  openSavepoints = 0;
}

/**
 * The writes one memory transaction, or one savepoint of it, can stage. Stores write through the
 * `Staging` of the context they run in; every `Staging` of a transaction reaches the same writes.
 * @internal
 */
export class Staging {
  readonly #tx: TransactionContext;
  readonly #shared: StagedTransaction;
  readonly #parent: Staging | undefined;
  /** Where the writes of this savepoint start in the undo log. */
  readonly #mark: number;
  #state: StagingState = 'open';
  // Sibling savepoints of this context queue here: one undo log cannot take back interleaved work.
  #lastSavepoint: Promise<void> = Promise.resolve();

  constructor(tx: TransactionContext, parent?: Staging) {
    this.#tx = tx;
    this.#parent = parent;
    this.#shared = parent === undefined ? new StagedTransaction() : parent.#shared;
    this.#mark = this.#shared.undo.length;
  }

  /**
   * The participant's staged writes in this transaction, made on first use.
   * @throws UnitOfWorkError when the transaction (or this savepoint, or one around it) has already
   *   ended (work that outlived its transaction, e.g. after a timeout, must not write behind its back).
   */
  writable<S>(participant: StagingParticipant<S>, create: () => S, what: string): S {
    this.#assertOpen(what);
    const key = participant as StagingParticipant<never>;
    let staged = this.#shared.parts.get(key) as S | undefined;
    if (staged === undefined) {
      staged = create();
      this.#shared.parts.set(key, staged);
    }
    return staged;
  }

  /**
   * Records how to take back a write just made through `writable`, in case a savepoint around it
   * fails. Outside savepoints there is nothing to take back one by one (a rollback drops all).
   */
  undoable(undo: () => void): void {
    if (this.#shared.openSavepoints > 0) this.#shared.undo.push(undo);
  }

  /** What the participant staged, for reads; nothing once the transaction or savepoint is over. */
  readable<S>(participant: StagingParticipant<S>): S | undefined {
    if (this.#ended() !== undefined) return undefined;
    return this.#shared.parts.get(participant as StagingParticipant<never>) as S | undefined;
  }

  /**
   * Runs `work` as a savepoint of this context, with `child` as its context: its writes stay
   * staged when it resolves and are taken back when it rejects. Siblings run one after the other.
   * @throws UnitOfWorkError when this context has ended before the savepoint could start.
   */
  async savepoint<T>(child: TransactionContext, work: (tx: TransactionContext) => Promise<T>): Promise<T> {
    const previous = this.#lastSavepoint;
    let done!: () => void;
    this.#lastSavepoint = new Promise<void>((resolve) => {
      done = resolve;
    });
    await previous;
    try {
      this.#assertOpen('savepoint');
      const nested = new Staging(child, this);
      stagings.set(child, nested);
      this.#shared.openSavepoints++;
      let result: T;
      try {
        // A promise constructor, so that work throwing before it returns a promise is undone too.
        result = await new Promise<T>((resolve) => resolve(memoryTransaction.run(child, () => work(child))));
      } catch (error) {
        nested.#end('rolled back');
        throw error;
      }
      nested.#end('released');
      return result;
    } finally {
      done();
    }
  }

  /** Checks, then writes, everything staged. On a failed check nothing is written and it rolls back. */
  commit(): void {
    if (this.#state !== 'open') return;
    try {
      const writes: (() => void)[] = [];
      for (const [participant, staged] of this.#shared.parts) {
        writes.push((participant as StagingParticipant<unknown>).prepareCommit(staged));
      }
      this.#state = 'committed';
      for (const write of writes) write();
    } catch (error) {
      this.rollback();
      throw error;
    }
    this.#clear();
  }

  /** Drops everything staged. */
  rollback(): void {
    if (this.#state !== 'open') return;
    this.#state = 'rolled back';
    this.#clear();
  }

  #clear(): void {
    this.#shared.parts.clear();
    this.#shared.undo.length = 0;
  }

  /** Ends a savepoint: a failed one takes back what was written since it started. */
  #end(outcome: 'released' | 'rolled back'): void {
    // The transaction may have ended meanwhile (a timeout); then there is nothing left to undo.
    if (this.#parent === undefined || this.#parent.#ended() === undefined) {
      const { undo } = this.#shared;
      if (outcome === 'rolled back') {
        while (undo.length > this.#mark) undo.pop()!();
      }
      this.#shared.openSavepoints--;
      // With no savepoint open, no write can be taken back one by one any more.
      if (this.#shared.openSavepoints === 0) undo.length = 0;
    }
    this.#state = outcome;
  }

  /** The first context from here outwards that has ended, and how. */
  #ended(): { tx: TransactionContext; state: StagingState } | undefined {
    for (let staging: Staging | undefined = this; staging !== undefined; staging = staging.#parent) {
      if (staging.#state !== 'open') return { tx: staging.#tx, state: staging.#state };
    }
    return undefined;
  }

  #assertOpen(what: string): void {
    const ended = this.#ended();
    if (ended === undefined) return;
    const kind = ended.tx === this.#rootTx() ? 'transaction' : 'savepoint';
    throw new UnitOfWorkError(
      `[@finaegis/memory] ${what}: ${kind} ${ended.tx.id} is already ${ended.state} (work that outlived its ${kind}, e.g. after a timeout)`,
    );
  }

  #rootTx(): TransactionContext {
    let staging: Staging = this;
    while (staging.#parent !== undefined) staging = staging.#parent;
    return staging.#tx;
  }
}

// Keyed by the contexts the memory manager made, so a store can tell its transactions from those
// of other managers (which it does not take part in) without a public field on the context.
const stagings = new WeakMap<TransactionContext, Staging>();

/**
 * The memory transaction (or savepoint) whose work is running, set by the manager itself, so the
 * stores join it also when `run` is called directly rather than through the buses.
 * @internal
 */
export const memoryTransaction: AsyncLocalStorage<TransactionContext> = new AsyncLocalStorage();

/** @internal Opens the staging area of a new memory transaction. */
export function openStaging(tx: TransactionContext): Staging {
  const staging = new Staging(tx);
  stagings.set(tx, staging);
  return staging;
}

/** @internal The staging area of a context the memory manager made. */
export function stagingOf(tx: TransactionContext): Staging | undefined {
  return stagings.get(tx);
}

/**
 * The staging area of the memory transaction running in this async context, if there is one: the
 * buses' current transaction (a savepoint's context while one runs), else the one the manager is
 * running its work in.
 * @internal
 */
export function currentStaging(): Staging | undefined {
  const tx = currentTransaction();
  const viaBuses = tx === undefined ? undefined : stagings.get(tx);
  if (viaBuses !== undefined) return viaBuses;
  const own = memoryTransaction.getStore();
  return own === undefined ? undefined : stagings.get(own);
}

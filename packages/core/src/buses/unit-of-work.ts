import { AsyncLocalStorage } from 'node:async_hooks';
import { UnitOfWorkError } from '../errors/unit-of-work-error';
import type { DomainEvent } from '../messages';
import type { TransactionContext } from '../ports/transaction-manager';
import type { SendOptions, TransportMessage } from '../ports/transport';

/** An async send held until the unit of work commits. */
export interface PendingSend {
  readonly channel: string;
  readonly message: TransportMessage;
  readonly options: SendOptions | undefined;
}

/**
 * An event the unit of work holds until it ends: `recorded` through `record()` (listed by
 * `recorded()`, dropped by `clearRecorded()`), or published with `publish()` inside a transaction
 * (held until commit, and neither listed nor cleared: the caller asked for it to be published).
 */
interface HeldEvent {
  readonly event: DomainEvent;
  readonly recorded: boolean;
}

/**
 * The work of one request, command or transaction: the events it recorded and the async sends it
 * made, kept apart from every other unit of work through AsyncLocalStorage.
 *
 * A nested transaction gets a child unit: what it holds joins the parent's only when the nested
 * transaction succeeds, so a failed nested batch leaves nothing behind.
 */
export class UnitOfWork {
  readonly #held: HeldEvent[] = [];
  readonly pendingSends: PendingSend[] = [];
  /** Set while a transaction of the TransactionManager is open for this unit of work. */
  transaction: TransactionContext | undefined;
  #state: 'open' | 'committed' | 'discarded' = 'open';
  /** Why this transaction may no longer commit (a nested one failed and could not be undone alone). */
  #rollbackOnly: { readonly cause: unknown } | undefined;

  constructor(readonly transactional: boolean) {}

  get open(): boolean {
    return this.#state === 'open';
  }

  assertOpen(what: string): void {
    if (this.#state !== 'open') {
      throw new UnitOfWorkError(
        `${what}: the unit of work is already ${this.#state} (work that outlived its transaction, e.g. after a timeout)`,
      );
    }
  }

  /** Holds an event recorded with `record()`. */
  record(event: DomainEvent): void {
    this.#held.push({ event, recorded: true });
  }

  /** Holds an event published inside a transaction, until commit. */
  hold(event: DomainEvent): void {
    this.#held.push({ event, recorded: false });
  }

  /** The recorded events not yet published (events held by `publish()` are not among them). */
  recordedEvents(): DomainEvent[] {
    const events: DomainEvent[] = [];
    for (const held of this.#held) if (held.recorded) events.push(held.event);
    return events;
  }

  /** Removes and returns the recorded events, leaving the events held by `publish()`. */
  takeRecorded(): DomainEvent[] {
    const taken: DomainEvent[] = [];
    let kept = 0;
    for (const held of this.#held) {
      if (held.recorded) taken.push(held.event);
      else this.#held[kept++] = held;
    }
    this.#held.length = kept;
    return taken;
  }

  /** A nested transaction failed where it could not be undone alone: this one must roll back. */
  markRollbackOnly(cause: unknown): void {
    this.#rollbackOnly ??= { cause };
  }

  /** @throws UnitOfWorkError when a nested transaction failed and the manager has no savepoints. */
  assertCommittable(): void {
    if (this.#rollbackOnly === undefined) return;
    throw new UnitOfWorkError(
      'the transaction was rolled back: a nested transaction failed, and the transaction manager cannot undo it alone (it has no savepoint support)',
      { cause: this.#rollbackOnly.cause },
    );
  }

  /** Takes over what a nested unit held when its nested transaction succeeded. */
  adopt(child: UnitOfWork): void {
    this.#held.push(...child.#held.splice(0));
    this.pendingSends.push(...child.pendingSends.splice(0));
    if (child.#rollbackOnly !== undefined) this.markRollbackOnly(child.#rollbackOnly.cause);
    child.#state = 'committed';
  }

  /** Marks the unit of work finished and hands out what it held. */
  settle(outcome: 'committed' | 'discarded'): { events: DomainEvent[]; sends: PendingSend[] } {
    this.#state = outcome;
    const held = { events: this.#held.splice(0).map((h) => h.event), sends: this.pendingSends.splice(0) };
    return outcome === 'committed' ? held : { events: [], sends: [] };
  }
}

const storage = new AsyncLocalStorage<UnitOfWork>();

/** The unit of work of the current async context, if any. */
export function currentUnitOfWork(): UnitOfWork | undefined {
  return storage.getStore();
}

/** The transaction of the current async context (inside `dispatchTransaction` / `transaction`), if any. */
export function currentTransaction(): TransactionContext | undefined {
  return storage.getStore()?.transaction;
}

/** @internal Runs `fn` with `unit` as the current unit of work. */
export function runInUnitOfWork<T>(unit: UnitOfWork, fn: () => T): T {
  return storage.run(unit, fn);
}

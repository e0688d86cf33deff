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
 * The work of one request, command or transaction: the events it recorded and the async sends it
 * made, kept apart from every other unit of work through AsyncLocalStorage.
 */
export class UnitOfWork {
  readonly recorded: DomainEvent[] = [];
  readonly pendingSends: PendingSend[] = [];
  /** Set while a transaction of the TransactionManager is open for this unit of work. */
  transaction: TransactionContext | undefined;
  #state: 'open' | 'committed' | 'discarded' = 'open';

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

  /** Marks the unit of work finished and hands out what it held. */
  settle(outcome: 'committed' | 'discarded'): { events: DomainEvent[]; sends: PendingSend[] } {
    this.#state = outcome;
    const held = { events: this.recorded.splice(0), sends: this.pendingSends.splice(0) };
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

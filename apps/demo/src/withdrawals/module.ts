import {
  type Cqrs,
  createProcessManager,
  type MessageScheduler,
  newId,
  type ProcessManager,
  type ProcessStatus,
  type ProcessStore,
} from '@finaegis/core';
import { type Amount, parseAmount } from '../decimal';
import type { WithdrawalBook } from './book';
import {
  FundsReleased,
  FundsReserved,
  ReleaseFunds,
  ReservationRejected,
  ReserveFunds,
  SettleWithdrawal,
  WITHDRAWAL_MESSAGES,
  WithdrawalRequested,
  WithdrawalSettled,
} from './messages';
import {
  type WithdrawalProcess,
  type WithdrawalStage,
  type WithdrawalState,
  withdrawalProcess,
} from './process';
import { type PayoutProviderOptions, registerPayoutProvider } from './provider';

export interface WithdrawalsOptions {
  readonly book: WithdrawalBook;
  readonly store: ProcessStore;
  /** For transports without delay (Kafka): where the payout timeouts wait. */
  readonly scheduler?: MessageScheduler;
  /** Seconds to wait for the provider before asking it to cancel. Default 5. */
  readonly payoutTimeoutSeconds?: number;
  readonly provider?: PayoutProviderOptions;
}

/** A withdrawal as the page lists it. */
export interface WithdrawalView {
  readonly withdrawalId: string;
  readonly account: string;
  readonly amount: string;
  readonly stage: WithdrawalStage | 'failed-to-start';
  readonly status: ProcessStatus;
  readonly payout: WithdrawalState['payout'] | null;
  readonly cancelRequests: number;
  readonly error: string | null;
  readonly startedAt: number;
  readonly updatedAt: number;
}

/** Whether the books add up after a run (see `Withdrawals.reconcile`). */
export interface Reconciliation {
  readonly withdrawals: number;
  readonly byStage: Readonly<Record<string, number>>;
  /** Processes not ended (running or failed). */
  readonly stuck: number;
  /** Withdrawals with more than one reserve, or more than one settle or release in all. */
  readonly doubleSettled: number;
  /** Ended withdrawals whose ledger does not match their end (settled without a settle entry, ...). */
  readonly mismatched: number;
  /** Every account: opening = available + reserved + paid out; the provider paid what was settled. */
  readonly balanced: boolean;
  readonly reservedLeft: Amount;
  readonly providerPaid: Amount;
  readonly settled: Amount;
}

export interface Withdrawals {
  readonly definition: WithdrawalProcess;
  readonly processes: ProcessManager;
  readonly book: WithdrawalBook;
  /** Starts a withdrawal (the event leaves through the outbox when there is one). Returns its id. */
  request(account: string, amount: string, withdrawalId?: string): Promise<string>;
  /** The latest withdrawals, newest first. */
  list(limit?: number): Promise<WithdrawalView[]>;
  reconcile(): Promise<Reconciliation>;
  close(): Promise<void>;
}

/**
 * Withdrawals on the demo's buses: the command handlers (the book and the fake provider) and the
 * withdrawal process. Workers run the handlers; the process reacts wherever events are consumed.
 */
export function installWithdrawals(cqrs: Cqrs, options: WithdrawalsOptions): Withdrawals {
  const { book, store } = options;
  const definition = withdrawalProcess({ payoutTimeoutSeconds: options.payoutTimeoutSeconds ?? 5 });
  cqrs.registry.register(...WITHDRAWAL_MESSAGES);
  cqrs.commandBus.register(ReserveFunds, async (command) => {
    const reserved = await book.reserve(command.withdrawalId, command.account, parseAmount(command.amount));
    const answer = reserved
      ? new FundsReserved(command.withdrawalId)
      : new ReservationRejected(command.withdrawalId);
    await cqrs.eventBus.publishAsync(answer);
  });
  cqrs.commandBus.register(SettleWithdrawal, async (command) => {
    await book.settle(command.withdrawalId, command.account, parseAmount(command.amount));
    await cqrs.eventBus.publishAsync(new WithdrawalSettled(command.withdrawalId));
  });
  cqrs.commandBus.register(ReleaseFunds, async (command) => {
    await book.release(command.withdrawalId, command.account, parseAmount(command.amount));
    await cqrs.eventBus.publishAsync(new FundsReleased(command.withdrawalId));
  });
  registerPayoutProvider(cqrs, book, options.provider);
  const processes = createProcessManager(cqrs, {
    store,
    processes: [definition],
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    concurrency: { attempts: 50 },
  });

  return {
    definition,
    processes,
    book,
    async request(account, amount, withdrawalId = `wd-${newId()}`) {
      const event = new WithdrawalRequested(withdrawalId, account, amount);
      await cqrs.transaction(async () => {
        await cqrs.eventBus.publishAsync(event);
      });
      return withdrawalId;
    },
    async list(limit = 50) {
      const found = await processes.list({ processType: definition.processType, limit });
      return found.map((process) => {
        const state = process.state as WithdrawalState | undefined;
        return {
          withdrawalId: process.processId,
          account: state?.account ?? '',
          amount: state?.amount ?? '',
          stage: state?.stage ?? 'failed-to-start',
          status: process.status,
          payout: state?.payout ?? null,
          cancelRequests: state?.cancelRequests ?? 0,
          error: process.failure?.error.message ?? null,
          startedAt: process.startedAt,
          updatedAt: process.updatedAt,
        };
      });
    },
    reconcile: () => reconcile(processes, definition, book),
    close: () => processes.close(),
  };
}

async function reconcile(
  processes: ProcessManager,
  definition: WithdrawalProcess,
  book: WithdrawalBook,
): Promise<Reconciliation> {
  const ledger = await book.ledger();
  const byStage: Record<string, number> = {};
  let withdrawals = 0;
  let stuck = 0;
  let mismatched = 0;
  for (let offset = 0; ; offset += 1000) {
    const page = await processes.list({ processType: definition.processType, limit: 1000, offset });
    for (const process of page) {
      withdrawals += 1;
      const stage = (process.state as WithdrawalState | undefined)?.stage ?? 'failed-to-start';
      byStage[stage] = (byStage[stage] ?? 0) + 1;
      if (process.status === 'running' || process.status === 'failed') stuck += 1;
      const counts = ledger.get(process.processId) ?? { reserve: 0, reject: 0, settle: 0, release: 0 };
      const expected =
        stage === 'settled'
          ? counts.reserve === 1 && counts.settle === 1 && counts.release === 0
          : stage === 'released'
            ? counts.reserve === 1 && counts.release === 1 && counts.settle === 0
            : stage === 'rejected'
              ? counts.reject === 1 && counts.reserve === 0
              : true;
      if (!expected) mismatched += 1;
    }
    if (page.length < 1000) break;
  }
  let doubleSettled = 0;
  for (const counts of ledger.values()) {
    if (counts.reserve > 1 || counts.settle + counts.release > 1) doubleSettled += 1;
  }
  const accounts = await book.accounts();
  let reservedLeft = 0n;
  let settled = 0n;
  let accountsAddUp = true;
  for (const account of accounts) {
    reservedLeft += account.reserved;
    settled += account.paidOut;
    if (account.available + account.reserved + account.paidOut !== account.opening || account.available < 0n)
      accountsAddUp = false;
  }
  const providerPaid = await book.providerPaid();
  return {
    withdrawals,
    byStage,
    stuck,
    doubleSettled,
    mismatched,
    balanced: accountsAddUp && providerPaid === settled && (stuck > 0 || reservedLeft === 0n),
    reservedLeft,
    providerPaid,
    settled,
  };
}

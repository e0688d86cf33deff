// How the demo app gets its withdrawals: the book, the process store and (on Kafka) the schedule
// table where its configuration keeps things, the demo accounts opened, and, in the processes that
// relay the outbox, the scheduler's loop. The one call `createExchangeApp` makes.
import type { Cqrs, Transport } from '@finaegis/core';
import { createMemoryProcessStore } from '@finaegis/memory';
import { DEMO_ACCOUNTS, type DemoConfig } from '../config/domain';
import { parseAmount } from '../decimal';
import { createMemoryWithdrawalBook } from './book';
import { installWithdrawals, type Withdrawals } from './module';
import { createPostgresWithdrawalBook } from './postgres-book';

/** What each demo account starts with for withdrawals. */
export const WITHDRAWAL_OPENING_BALANCE = '1000';
/** Seconds the demo waits for the payout provider before asking it to cancel. */
export const DEMO_PAYOUT_TIMEOUT_SECONDS = 5;

export async function attachWithdrawals(
  cqrs: Cqrs,
  config: DemoConfig,
  transport: Transport,
  options: { readonly relay: boolean },
): Promise<Withdrawals> {
  const provider = { slowMs: DEMO_PAYOUT_TIMEOUT_SECONDS * 1000 + 3000 };
  if (config.domain.eventStore !== 'postgres') {
    // On a transport without delay and no PostgreSQL to keep timeouts, a step that arms one fails
    // with UnsupportedFeatureError, and the page shows it.
    const withdrawals = installWithdrawals(cqrs, {
      book: createMemoryWithdrawalBook(),
      store: createMemoryProcessStore(),
      payoutTimeoutSeconds: DEMO_PAYOUT_TIMEOUT_SECONDS,
      provider,
    });
    await openAccounts(withdrawals);
    return withdrawals;
  }
  const postgres = await import('@finaegis/postgres');
  // A manager of its own only for its pool, which the book, the store and the scheduler share.
  const owner = postgres.createPostgresTransactionManager({
    connectionString: config.domain.databaseUrl,
    schema: config.schema,
  });
  const conn = { pool: owner.pool, schema: config.schema };
  const book = createPostgresWithdrawalBook(owner.pool, config.schema);
  await book.ensureTables();
  const scheduler = transport.features.delay ? undefined : postgres.createPostgresMessageScheduler(conn);
  const withdrawals = installWithdrawals(cqrs, {
    book,
    store: postgres.createPostgresProcessStore(conn),
    payoutTimeoutSeconds: DEMO_PAYOUT_TIMEOUT_SECONDS,
    provider,
    ...(scheduler === undefined ? {} : { scheduler }),
  });
  await openAccounts(withdrawals);
  if (scheduler !== undefined && options.relay) await scheduler.start();
  let closing: Promise<void> | undefined;
  return {
    ...withdrawals,
    // Idempotent: the CLI closes it after a graceful shutdown, `ExchangeApp.close()` too.
    close() {
      closing ??= (async () => {
        await withdrawals.close();
        await scheduler?.stop();
        await owner.close();
      })();
      return closing;
    },
  };
}

async function openAccounts(withdrawals: Withdrawals): Promise<void> {
  for (const account of DEMO_ACCOUNTS) {
    await withdrawals.book.open(account.accountId, parseAmount(WITHDRAWAL_OPENING_BALANCE));
  }
}

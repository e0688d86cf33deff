import { currentTransaction } from '@finaegis/core';
import type { Amount } from '../decimal';
import type { LedgerKind, PayoutDecision, WithdrawalAccount, WithdrawalBook } from './book';

/** The part of a `pg` pool or client the book uses. */
export interface SqlClient {
  query<R>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * The book in PostgreSQL tables of the demo's schema. Inside a transaction (a worker with the
 * inbox, a process step) it writes through the transaction's client, so the money moves commit with
 * the inbox record and the events the handler publishes, or not at all.
 */
export function createPostgresWithdrawalBook(
  pool: SqlClient,
  schema: string,
): WithdrawalBook & {
  /** Creates the tables when they are missing. */
  ensureTables(): Promise<void>;
} {
  const q = `"${schema}"`;
  const db = (): SqlClient => (currentTransaction()?.client as SqlClient | undefined) ?? pool;
  const entry = (withdrawalId: string, account: string, kind: LedgerKind, amount: Amount) =>
    db().query(
      `INSERT INTO ${q}.withdrawal_ledger (withdrawal_id, account, kind, amount) VALUES ($1, $2, $3, $4)`,
      [withdrawalId, account, kind, amount.toString()],
    );
  const move = async (sql: string, account: string, amount: Amount) => {
    const { rows } = await db().query(`${sql} WHERE account = $1 RETURNING 1`, [account, amount.toString()]);
    if (rows.length !== 1) throw new RangeError(`unknown account ${account}`);
  };
  return {
    async ensureTables() {
      // Processes starting together (an API and its workers) would race in CREATE TABLE IF NOT
      // EXISTS, which is not atomic: an advisory lock for the length of this one-statement-list
      // transaction lets one create while the others wait, then find the tables there.
      const lockKey = `'${`${schema}.withdrawals`.replace(/'/g, "''")}'`;
      await pool.query(`
        SELECT pg_advisory_xact_lock(hashtext(${lockKey}));
        CREATE TABLE IF NOT EXISTS ${q}.withdrawal_accounts (
          account text PRIMARY KEY, opening bigint NOT NULL, available bigint NOT NULL, reserved bigint NOT NULL DEFAULT 0,
          paid_out bigint NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS ${q}.withdrawal_ledger (
          id bigserial PRIMARY KEY, withdrawal_id text NOT NULL, account text NOT NULL, kind text NOT NULL,
          amount bigint NOT NULL, at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS ${q}.payout_provider (
          withdrawal_id text PRIMARY KEY, amount bigint NOT NULL, decision text NOT NULL,
          decided_at timestamptz NOT NULL DEFAULT now());`);
    },
    async open(account, available) {
      await db().query(
        `INSERT INTO ${q}.withdrawal_accounts (account, opening, available) VALUES ($1, $2, $2) ON CONFLICT DO NOTHING`,
        [account, available.toString()],
      );
    },
    async reserve(withdrawalId, account, amount) {
      const { rows } = await db().query(
        `UPDATE ${q}.withdrawal_accounts SET available = available - $2, reserved = reserved + $2
         WHERE account = $1 AND available >= $2 RETURNING 1`,
        [account, amount.toString()],
      );
      const reserved = rows.length === 1;
      await entry(withdrawalId, account, reserved ? 'reserve' : 'reject', amount);
      return reserved;
    },
    async settle(withdrawalId, account, amount) {
      await move(
        `UPDATE ${q}.withdrawal_accounts SET reserved = reserved - $2, paid_out = paid_out + $2`,
        account,
        amount,
      );
      await entry(withdrawalId, account, 'settle', amount);
    },
    async release(withdrawalId, account, amount) {
      await move(
        `UPDATE ${q}.withdrawal_accounts SET reserved = reserved - $2, available = available + $2`,
        account,
        amount,
      );
      await entry(withdrawalId, account, 'release', amount);
    },
    async accounts(): Promise<WithdrawalAccount[]> {
      const { rows } = await pool.query<{
        account: string;
        opening: string;
        available: string;
        reserved: string;
        paid_out: string;
      }>(
        `SELECT account, opening, available, reserved, paid_out FROM ${q}.withdrawal_accounts ORDER BY account`,
      );
      return rows.map((row) => ({
        account: row.account,
        opening: BigInt(row.opening),
        available: BigInt(row.available),
        reserved: BigInt(row.reserved),
        paidOut: BigInt(row.paid_out),
      }));
    },
    async ledger() {
      const { rows } = await pool.query<{ withdrawal_id: string; kind: LedgerKind; n: string }>(
        `SELECT withdrawal_id, kind, count(*) AS n FROM ${q}.withdrawal_ledger GROUP BY withdrawal_id, kind`,
      );
      const ledger = new Map<string, Record<LedgerKind, number>>();
      for (const row of rows) {
        const counts = ledger.get(row.withdrawal_id) ?? { reserve: 0, reject: 0, settle: 0, release: 0 };
        counts[row.kind] = Number(row.n);
        ledger.set(row.withdrawal_id, counts);
      }
      return ledger;
    },
    async decide(withdrawalId, amount, decision) {
      // A cancel that came first stands; so does an earlier decision (a redelivered request).
      const { rows } = await db().query<{ decision: PayoutDecision }>(
        `INSERT INTO ${q}.payout_provider AS p (withdrawal_id, amount, decision) VALUES ($1, $2, $3)
         ON CONFLICT (withdrawal_id) DO UPDATE SET decision = p.decision RETURNING decision`,
        [withdrawalId, amount.toString(), decision],
      );
      return rows[0]!.decision;
    },
    async cancel(withdrawalId, amount) {
      const { rows } = await db().query<{ decision: PayoutDecision }>(
        `INSERT INTO ${q}.payout_provider AS p (withdrawal_id, amount, decision) VALUES ($1, $2, 'cancelled')
         ON CONFLICT (withdrawal_id) DO UPDATE
           SET decision = CASE WHEN p.decision = 'pending' THEN 'cancelled' ELSE p.decision END
         RETURNING decision`,
        [withdrawalId, amount.toString()],
      );
      return rows[0]!.decision;
    },
    async providerPaid() {
      const { rows } = await pool.query<{ paid: string | null }>(
        `SELECT sum(amount)::bigint AS paid FROM ${q}.payout_provider WHERE decision = 'paid'`,
      );
      return BigInt(rows[0]?.paid ?? '0');
    },
  };
}

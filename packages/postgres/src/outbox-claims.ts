import type pg from 'pg';
import type { ResolvedConnection } from './connection';
import { isConflict } from './sql-state';

/*
 * The claiming half of the outbox relay: which rows a relay may take (each channel from its head,
 * in commit order: `commit_seq`, see migration 0003), the lease it puts on them, and the updates
 * that settle them, all locking rows in ascending id order so that relays never deadlock one another.
 */

/** @internal An outbox row as a claim reads it. */
export interface OutboxRow {
  id: string;
  /** Commit order within the channel (null only for a row committed without `outbox_seal`). */
  commit_seq: string | null;
  channel: string;
  message_id: string;
  type: string;
  body: string;
  headers: Record<string, string>;
  key: string | null;
  options: { delayMs?: number; priority?: number; dedupeId?: string };
  attempts: number;
  due: boolean;
  leased_elsewhere: boolean;
  delay_left_ms: string;
}

// First key of the two-key advisory lock a claim takes on each channel (ordering: 'channel'); the
// second is hashtext('<schema>.<channel>'). Distinct from migrate()'s class.
const CHANNEL_LOCK_CLASS = 0x46_41_4f; // "FAO"

// A claim that loses a deadlock or a serialization check is run again this many times in all.
const CONFLICT_ATTEMPTS = 5;

/**
 * Runs `work` again after a conflict, after a short random pause so that the transactions that
 * collided do not collide again in step.
 * @internal
 */
export async function retryConflicts<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isConflict(error) || attempt >= CONFLICT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, attempt * (5 + Math.random() * 20)));
    }
  }
}

/**
 * Each channel's rows up to (not including) the first that is not due or is leased by another
 * relay: a channel is only ever claimed from its head, in commit order. `rows` are in commit order
 * within each channel.
 */
function channelHeads(rows: OutboxRow[]): OutboxRow[] {
  const blocked = new Set<string>();
  return rows.filter((row) => {
    if (blocked.has(row.channel) || !row.due || row.leased_elsewhere) {
      blocked.add(row.channel);
      return false;
    }
    return true;
  });
}

/** @internal */
export const PENDING = 'sent_at IS NULL AND failed_at IS NULL';
const ROW_COLUMNS = `id, commit_seq, channel, message_id, type, body, headers, key, options, attempts,
  available_at <= now() AS due,
  coalesce(lease_until >= now(), false) AS leased_elsewhere,
  coalesce((options->>'delayMs')::bigint, 0)
    - (extract(epoch FROM (now() - created_at)) * 1000)::bigint AS delay_left_ms`;

/** @internal How a relay claims. */
export interface ClaimSettings {
  readonly ordering: 'channel' | 'none';
  readonly batchSize: number;
  readonly leaseMs: number;
}

/** @internal Claims and settles outbox rows for one relay (`relayId` is written as `claimed_by`). */
export class OutboxClaims {
  readonly #conn: ResolvedConnection;
  readonly #relayId: string;
  readonly #ordering: 'channel' | 'none';
  readonly #batchSize: number;
  readonly #leaseMs: number;

  constructor(conn: ResolvedConnection, relayId: string, settings: ClaimSettings) {
    this.#conn = conn;
    this.#relayId = relayId;
    this.#ordering = settings.ordering;
    this.#batchSize = settings.batchSize;
    this.#leaseMs = settings.leaseMs;
  }

  /** Leases the next rows to this relay. A conflict is retried, and rethrown when it keeps coming. */
  claim(): Promise<OutboxRow[]> {
    return retryConflicts(() =>
      this.#inTransaction((client) =>
        this.#ordering === 'channel' ? this.#claimByChannel(client) : this.#claimAny(client),
      ),
    );
  }

  /** One row: a single row lock, so no order to keep. */
  async settleOne(sql: string, values: unknown[]): Promise<void> {
    await retryConflicts(() => this.#conn.pool.query(sql, values));
  }

  /**
   * Updates rows this relay still holds the lease of. A bare `UPDATE … WHERE id = ANY(…)` locks
   * rows in the order the plan meets them (heap order, which updates shuffle), and against a claim
   * locking in id order that is a deadlock; the subquery locks in id order first.
   */
  async settle(ids: string[], assignments: string): Promise<void> {
    const { q } = this.#conn;
    await retryConflicts(() =>
      this.#conn.pool.query(
        `WITH target AS MATERIALIZED (
           SELECT id FROM ${q}.outbox WHERE id = ANY($1::bigint[]) AND claimed_by = $2 ORDER BY id FOR UPDATE
         )
         UPDATE ${q}.outbox AS o SET ${assignments} FROM target WHERE o.id = target.id`,
        [ids, this.#relayId],
      ),
    );
  }

  async #inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#conn.pool.connect();
    try {
      // Read committed whatever the server's default: each statement must see what committed
      // before it, in particular the leases of a claim whose channel lock was just released.
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      // A client whose rollback failed is in an unknown state: destroy it rather than pool it.
      client.release(rolledBack ? undefined : error instanceof Error ? error : true);
      throw error;
    }
  }

  /**
   * Ordered claim. Channel exclusion comes from advisory locks, not row locks: the relay tries the
   * channel lock of the channels it looks at and skips those another relay is claiming right now
   * (a try never waits, so claims never wait for each other). Only after that does it read the rows
   * of the channels it locked: the lock is released when the other claim commits, so this later
   * statement sees that claim's leases and leaves those rows alone.
   *
   * Fairness: it looks at every channel with pending rows (a skip scan over the pending index, not
   * the first `batchSize` rows, which one busy channel could fill), oldest head first, at most
   * `batchSize` channels, and takes an equal share of the batch from each.
   */
  async #claimByChannel(client: pg.PoolClient): Promise<OutboxRow[]> {
    const { q, schema } = this.#conn;
    const { rows: channels } = await client.query<{ channel: string; mine: boolean }>(
      `WITH RECURSIVE pending_channels AS (
         (SELECT channel FROM ${q}.outbox WHERE ${PENDING} ORDER BY channel LIMIT 1)
         UNION ALL
         SELECT (SELECT o.channel FROM ${q}.outbox o
                  WHERE ${PENDING} AND o.channel > p.channel ORDER BY o.channel LIMIT 1)
         FROM pending_channels p WHERE p.channel IS NOT NULL
       ), heads AS (
         SELECT p.channel,
                (SELECT o.commit_seq FROM ${q}.outbox o
                  WHERE ${PENDING} AND o.channel = p.channel ORDER BY o.commit_seq NULLS FIRST LIMIT 1) AS head
         FROM pending_channels p WHERE p.channel IS NOT NULL
         ORDER BY head NULLS FIRST LIMIT $1
       )
       SELECT channel, pg_try_advisory_xact_lock($2, hashtext($3 || channel)) AS mine FROM heads`,
      [this.#batchSize, CHANNEL_LOCK_CLASS, `${schema}.`],
    );
    const mine = channels.filter((c) => c.mine).map((c) => c.channel);
    if (mine.length === 0) return [];
    const share = Math.max(1, Math.ceil(this.#batchSize / mine.length));
    const { rows } = await client.query<OutboxRow>(
      `SELECT r.* FROM unnest($1::text[]) AS c(channel)
       CROSS JOIN LATERAL (
         SELECT ${ROW_COLUMNS} FROM ${q}.outbox o
         WHERE ${PENDING} AND o.channel = c.channel
         ORDER BY o.commit_seq NULLS FIRST, o.id LIMIT $2
       ) AS r
       ORDER BY r.commit_seq NULLS FIRST, r.id`,
      [mine, share],
    );
    return this.#lease(client, channelHeads(rows));
  }

  /** Unordered claim: rows locked by a concurrent claim are skipped, never waited for. */
  async #claimAny(client: pg.PoolClient): Promise<OutboxRow[]> {
    const { q } = this.#conn;
    const { rows } = await client.query<OutboxRow>(
      `SELECT ${ROW_COLUMNS} FROM ${q}.outbox
       WHERE ${PENDING} AND (lease_until IS NULL OR lease_until < now())
       ORDER BY id LIMIT $1
       FOR UPDATE SKIP LOCKED`,
      [this.#batchSize],
    );
    return this.#lease(client, channelHeads(rows));
  }

  /**
   * Leases `rows` (each channel's head, in id order) to this relay, locking them in id order. A row
   * whose state changed since it was read (the relay whose lease ran out marked it sent, or set it
   * back for a retry) is not leased, and neither are the later rows of its channel.
   */
  async #lease(client: pg.PoolClient, rows: OutboxRow[]): Promise<OutboxRow[]> {
    if (rows.length === 0) return [];
    const { q } = this.#conn;
    const { rows: leased } = await client.query<{ id: string }>(
      `WITH target AS MATERIALIZED (
         SELECT id FROM ${q}.outbox
         WHERE id = ANY($1::bigint[]) AND ${PENDING} AND available_at <= now()
           AND (lease_until IS NULL OR lease_until < now())
         ORDER BY id FOR UPDATE
       )
       UPDATE ${q}.outbox AS o SET claimed_by = $2, lease_until = now() + $3 * interval '1 millisecond'
       FROM target WHERE o.id = target.id
       RETURNING o.id`,
      [rows.map((r) => r.id), this.#relayId, this.#leaseMs],
    );
    const got = new Set(leased.map((r) => r.id));
    const cut = new Set<string>();
    const claimed: OutboxRow[] = [];
    const giveBack: string[] = [];
    for (const row of rows) {
      if (cut.has(row.channel) || !got.has(row.id)) {
        cut.add(row.channel);
        if (got.has(row.id)) giveBack.push(row.id);
        continue;
      }
      claimed.push(row);
    }
    if (giveBack.length > 0) {
      // Locked by this transaction already: no new lock is taken.
      await client.query(
        `UPDATE ${q}.outbox SET claimed_by = NULL, lease_until = NULL WHERE id = ANY($1::bigint[])`,
        [giveBack],
      );
    }
    return claimed;
  }
}

import {
  type ComposedCqrs,
  type DomainEvent,
  type Logger,
  type MessageClass,
  Projection,
  Projector,
} from '@finaegis/core';
import type { DemoConfig } from './config/domain';
import { OrderMatched, OrderPlaced } from './domain/messages';

/** The exchange's figures, and where they come from. */
export interface ExchangeFigures {
  /**
   * `event-store`: counted from the committed events by one projector for all processes (the
   * PostgreSQL event store), so every process reports the same numbers whichever process did the
   * work, and a process that died after an append and before publishing loses no count.
   * `process`: counted by this process's subscribers (the memory event store: one process).
   */
  readonly source: 'event-store' | 'process';
  readonly ordersPlaced: number;
  readonly trades: number;
  /** Positions of the global stream not yet counted (`event-store` only; positions have gaps). */
  readonly lag?: number;
}

/**
 * Effects driven from what was committed, not from an in-process publish that a crash can skip.
 * Stopped by `stop()`.
 */
export interface CommittedEffects {
  figures(): Promise<ExchangeFigures>;
  stop(): Promise<void>;
}

export interface CommittedEffectsOptions {
  readonly cqrs: ComposedCqrs;
  readonly config: DemoConfig;
  readonly logger: Logger;
  /** Clears the cached order books (the query bus's `invalidateType`; never throws). */
  readonly invalidateBooks: () => Promise<void>;
  /** The events after which the cached order book is stale. */
  readonly bookChanges: readonly MessageClass<DomainEvent>[];
}

const FIGURES = ['ordersPlaced', 'trades'] as const;

/**
 * On the PostgreSQL event store, two projectors read the committed stream, each active in one
 * process at a time (a lease), woken by `LISTEN/NOTIFY`:
 *
 * - **figures**: counts placed orders and trades into `<schema>.exchange_figures`, in the same
 *   transaction as its checkpoint, so each event counts exactly once, also across crashes;
 * - **order book cache**: clears the cached books after an event that changes a book, so a process
 *   that died between its append and its publish cannot leave a stale book in the shared cache
 *   until the TTL ends (at least once: clearing twice is harmless).
 *
 * In-process subscribers still do both at once after a decision in this process (read your own
 * writes, this process's counters); these projectors are what survives a crash. Returns undefined
 * on the memory event store, where the store dies with the process.
 */
export async function startCommittedEffects(
  options: CommittedEffectsOptions,
): Promise<CommittedEffects | undefined> {
  const { cqrs, config, logger } = options;
  // Needs the PostgreSQL transaction manager too (tests may put another in its place).
  if (config.domain.eventStore !== 'postgres' || !cqrs.outbox) return undefined;
  const postgres = await import('@finaegis/postgres');
  const connection = { connectionString: config.domain.databaseUrl, schema: config.schema, logger };
  const table = `"${config.schema}".exchange_figures`;
  const stream = config.stream;
  const inTransaction = <T>(work: () => Promise<T>) => cqrs.transaction(() => work());
  /** Runs a statement in the caller's transaction (a projector batch), else in one of its own. */
  const sql = async (text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> => {
    const run = async () => {
      const tx = postgres.currentPostgresTransaction();
      if (tx === undefined) throw new TypeError('exchange figures: no PostgreSQL transaction in context');
      return (await tx.client.query(text, values)).rows as Record<string, unknown>[];
    };
    return postgres.currentPostgresTransaction() === undefined ? inTransaction(run) : run();
  };

  try {
    await sql(
      `CREATE TABLE IF NOT EXISTS ${table} (stream text NOT NULL, name text NOT NULL, value bigint NOT NULL, PRIMARY KEY (stream, name))`,
    );
  } catch (error) {
    // Two processes creating it at once: one wins (duplicate type or table), the table is there.
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== '42P07') throw error;
  }

  const ours = (context: { streamId: string }) => context.streamId === stream;
  const count =
    (name: (typeof FIGURES)[number]) => async (_event: DomainEvent, context: { streamId: string }) => {
      if (!ours(context)) return;
      await sql(
        `INSERT INTO ${table} (stream, name, value) VALUES ($1, $2, 1)
       ON CONFLICT (stream, name) DO UPDATE SET value = ${table}.value + 1`,
        [stream, name],
      );
    };
  const lease = postgres.createPostgresProjectionLease(connection);
  const common = {
    store: cqrs.adapters.eventStore,
    checkpoints: cqrs.adapters.checkpointStore,
    registry: cqrs.registry,
    lease,
    pollIntervalMs: 1_000,
    logger,
  };
  const figures = new Projector(
    new Projection(`exchange-figures:${stream}`)
      .on(OrderPlaced, count('ordersPlaced'))
      .on(OrderMatched, count('trades')),
    { ...common, transaction: inTransaction },
  );
  const books = new Projection(`exchange-book-cache:${stream}`);
  for (const eventClass of options.bookChanges) {
    books.on(eventClass, async (_event, context) => {
      if (ours(context)) await options.invalidateBooks();
    });
  }
  const bookCache = new Projector(books, common);
  // A first run starts at the head: the books are cleared once instead of once per past event.
  const checkpoint = await bookCache.checkpoint();
  if (checkpoint === 0) {
    const head = (await cqrs.adapters.eventStore.headPosition?.()) ?? 0;
    await options.invalidateBooks();
    if (head > 0) await cqrs.adapters.checkpointStore.save(books.name, head);
  }

  const subscription = await postgres.listenForAppends(connection, () => {
    figures.wake();
    bookCache.wake();
  });
  figures.start();
  bookCache.start();

  let stopping: Promise<void> | undefined;
  return {
    async figures() {
      const rows = await sql(`SELECT name, value FROM ${table} WHERE stream = $1`, [stream]);
      const value = (name: string) => Number(rows.find((row) => row.name === name)?.value ?? 0);
      return {
        source: 'event-store',
        ordersPlaced: value('ordersPlaced'),
        trades: value('trades'),
        lag: await figures.lag(),
      };
    },
    stop() {
      stopping ??= (async () => {
        await subscription.close();
        await Promise.all([figures.stop(), bookCache.stop()]);
        await lease.close();
      })();
      return stopping;
    },
  };
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { ConfigError, type TransactionContext } from '@finaegis/core';
import pg from 'pg';

/** The connection string a factory uses when given neither `pool`, `connectionString` nor `DATABASE_URL`. */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** The schema every factory and `migrate()` use unless given `schema`. */
export const DEFAULT_SCHEMA = 'finaegis';

/** Where an adapter finds its database: a pool you own, or a connection string it opens itself. */
export interface PostgresConnectionOptions {
  /** An existing pool. The adapter never ends a pool it was given. */
  readonly pool?: pg.Pool;
  /** Used when no pool is given: `DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/test`. */
  readonly connectionString?: string;
  /** Schema holding the tables (created by `migrate`). Default `finaegis`. */
  readonly schema?: string;
}

/** @internal */
export interface ResolvedConnection {
  readonly pool: pg.Pool;
  readonly ownsPool: boolean;
  readonly schema: string;
  /** The schema, quoted for SQL text. */
  readonly q: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** @internal */
export function quoteSchema(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new ConfigError('schema', schema, 'a PostgreSQL identifier: letters, digits, _ (at most 63)', {
      adapter: '@finaegis/postgres',
    });
  }
  return `"${schema}"`;
}

/** @internal */
export function resolveConnection(options: PostgresConnectionOptions = {}): ResolvedConnection {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const q = quoteSchema(schema);
  if (options.pool) return { pool: options.pool, ownsPool: false, schema, q };
  const connectionString = options.connectionString ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const pool = new pg.Pool({ connectionString });
  // An idle pooled client losing its connection emits on the pool; without a listener Node would
  // crash the process. The next query reconnects.
  pool.on('error', () => {});
  return { pool, ownsPool: true, schema, q };
}

/** What a PostgresTransactionManager puts in async context for the event store and others. */
export interface PostgresTransaction extends TransactionContext {
  readonly client: pg.PoolClient;
  readonly schema: string;
  /**
   * `SAVEPOINT` … `RELEASE SAVEPOINT` on the same client, `ROLLBACK TO SAVEPOINT` when `work`
   * rejects (see `TransactionContext.savepoint`). The nested context is the one repositories of
   * this package find in async context while `work` runs.
   */
  savepoint<T>(work: (tx: PostgresTransaction) => Promise<T>): Promise<T>;
}

// Shared through a global symbol so that the ESM and CJS builds (or two copies of the package)
// still see each other's transactions.
const AMBIENT_KEY = Symbol.for('@finaegis/postgres/ambient-transaction');
type GlobalWithAmbient = typeof globalThis & {
  [AMBIENT_KEY]?: AsyncLocalStorage<PostgresTransaction>;
};
const holder = globalThis as GlobalWithAmbient;
/** @internal */
export const ambientTransaction: AsyncLocalStorage<PostgresTransaction> =
  holder[AMBIENT_KEY] ?? (holder[AMBIENT_KEY] = new AsyncLocalStorage<PostgresTransaction>());

/** The PostgreSQL transaction running in this async context, if any. */
export function currentPostgresTransaction(): PostgresTransaction | undefined {
  return ambientTransaction.getStore();
}

/** @internal Anything with `query`: a pool or a client. */
export type Queryable = Pick<pg.Pool, 'query'>;

/** @internal */
export function isUniqueViolation(error: unknown): error is Error & { code: string; constraint?: string } {
  return (error as { code?: unknown } | null)?.code === '23505';
}

import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PostgresConnectionOptions, resolveConnection } from './connection';
import { PostgresError } from './postgres-error';

/** Options of `migrate()`: where the database is, the schema, and the folder of SQL files. */
export interface MigrateOptions extends PostgresConnectionOptions {
  /** Folder of `*.sql` files, applied in name order. Default: the `migrations` folder shipped here. */
  readonly migrationsDir?: string;
}

/** What `migrate()` did. */
export interface MigrateResult {
  readonly schema: string;
  /** File names applied by this call (empty when the schema was already up to date). */
  readonly applied: string[];
}

// Both src/ (tests) and dist/ (published) sit next to migrations/.
/** The `migrations` folder shipped with this package, which `migrate()` applies by default. */
export const DEFAULT_MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

// First key of the two-key advisory lock that serialises migrations; the second is the schema's hash.
const MIGRATION_LOCK_CLASS = 0x46_41_4d; // "FAM"

/**
 * Creates the schema and applies every migration file it has not applied yet, each in its own
 * transaction, recording it in `<schema>.migrations`. Safe to call concurrently (from several
 * processes starting at once): an advisory lock lets one caller work while the others wait, then
 * find nothing left to do.
 */
export async function migrate(options: MigrateOptions = {}): Promise<MigrateResult> {
  const { pool, ownsPool, schema, q } = resolveConnection(options);
  const dir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  const files = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const applied: string[] = [];
  try {
    const client = await pool.connect();
    let broken: unknown;
    try {
      await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${q}.migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        const done = new Set(
          (await client.query<{ name: string }>(`SELECT name FROM ${q}.migrations`)).rows.map((r) => r.name),
        );
        for (const file of files) {
          if (done.has(file)) continue;
          const sql = await readFile(join(dir, file), 'utf8');
          await client.query('BEGIN');
          try {
            await client.query(`SET LOCAL search_path TO ${q}`);
            await client.query(sql);
            await client.query(`INSERT INTO ${q}.migrations (name) VALUES ($1)`, [file]);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK').catch(() => {});
            throw new PostgresError('migration-failed', `migration ${file} failed on schema ${schema}`, {
              cause: error,
            });
          }
          applied.push(file);
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
      }
    } catch (error) {
      broken = error;
      throw error;
    } finally {
      // A client whose state is unknown (failed unlock, ...) is destroyed rather than reused.
      client.release(broken instanceof Error ? broken : undefined);
    }
  } finally {
    if (ownsPool) await pool.end();
  }
  return { schema, applied };
}

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { migrate } from '@finaegis/postgres';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { runCli } from '../src/cli';
import { DATABASE_URL, openPool, testSchemaName } from './helpers';

let pool: pg.Pool;
let schemas: string[];
beforeEach(async () => {
  pool = await openPool();
  schemas = [];
});
afterEach(async () => {
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

function newSchema(): string {
  const schema = testSchemaName();
  schemas.push(schema);
  return schema;
}

async function tables(schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ t: string }>(
    'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
    [schema],
  );
  return rows.map((r) => r.t);
}

describe('migrate', () => {
  test('creates the schema, records what it applied, and is idempotent', async () => {
    const schema = newSchema();
    const first = await migrate({ pool, schema });
    expect(first.applied).toEqual([
      '0001_init.sql',
      '0002_positions_by_transaction.sql',
      '0003_outbox_commit_order.sql',
      '0004_processes_schedule_inbox.sql',
    ]);
    expect(await tables(schema)).toEqual([
      'checkpoints',
      'events',
      'inbox',
      'migrations',
      'outbox',
      'position_origin',
      'process_history',
      'processes',
      'scheduled_messages',
      'snapshots',
    ]);
    const second = await migrate({ pool, schema });
    expect(second.applied).toEqual([]);
    const { rows } = await pool.query(`SELECT name FROM "${schema}".migrations`);
    expect(rows).toEqual([
      { name: '0001_init.sql' },
      { name: '0002_positions_by_transaction.sql' },
      { name: '0003_outbox_commit_order.sql' },
      { name: '0004_processes_schedule_inbox.sql' },
    ]);
  });

  test('concurrent callers are serialised by the advisory lock: applied exactly once', async () => {
    const schema = newSchema();
    const results = await Promise.all(Array.from({ length: 6 }, () => migrate({ pool, schema })));
    expect(results.flatMap((r) => r.applied)).toEqual([
      '0001_init.sql',
      '0002_positions_by_transaction.sql',
      '0003_outbox_commit_order.sql',
      '0004_processes_schedule_inbox.sql',
    ]);
    const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".position_origin`);
    expect(Number(rows[0]!.n)).toBe(1);
  });

  test('upgrades a 0001 schema that holds events: old positions stay, new ones come after them', async () => {
    const schema = newSchema();
    const { mkdtemp, copyFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { DEFAULT_MIGRATIONS_DIR } = await import('../src/migrate');
    const onlyFirst = await mkdtemp(join(tmpdir(), 'finaegis-migrations-'));
    await copyFile(join(DEFAULT_MIGRATIONS_DIR, '0001_init.sql'), join(onlyFirst, '0001_init.sql'));
    await migrate({ pool, schema, migrationsDir: onlyFirst });
    const { createPostgresEventStore } = await import('@finaegis/postgres');
    const append = (store: ReturnType<typeof createPostgresEventStore>, stream: string, version: number) =>
      store.append(
        stream,
        [{ eventId: `${stream}-${version}`, type: 'T', data: {}, metadata: {}, occurredAt: Date.now() }],
        { expectedVersion: version },
      );
    const old = createPostgresEventStore({ pool, schema });
    await append(old, 'a', 0);
    await append(old, 'a', 1);
    const before = await pool.query<{ p: string }>(`SELECT position AS p FROM "${schema}".events ORDER BY 1`);
    expect(before.rows.map((r) => Number(r.p))).toEqual([1, 2]);
    const upgraded = await migrate({ pool, schema });
    expect(upgraded.applied).toEqual([
      '0002_positions_by_transaction.sql',
      '0003_outbox_commit_order.sql',
      '0004_processes_schedule_inbox.sql',
    ]);
    const next = await append(old, 'a', 2);
    expect(next.position).toBeGreaterThan(2);
    const all = await old.readAll();
    expect(all.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(all.map((e) => e.position)).toEqual([1, 2, next.position]);
  });

  test('a bad schema name is a ConfigError before anything runs', async () => {
    await expect(migrate({ pool, schema: 'x; DROP TABLE y' })).rejects.toThrow(/schema/);
  });

  test('a failing migration rolls back and names the file', async () => {
    const schema = newSchema();
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'finaegis-migrations-'));
    await writeFile(join(dir, '0001_ok.sql'), 'CREATE TABLE ok (id int);');
    await writeFile(join(dir, '0002_bad.sql'), 'CREATE TABLE half (id int); SELECT no_such_function();');
    await expect(migrate({ pool, schema, migrationsDir: dir })).rejects.toThrow(/0002_bad\.sql/);
    expect(await tables(schema)).toEqual(['migrations', 'ok']);
  });
});

describe('finaegis-postgres CLI', () => {
  test('migrate --url --schema applies, then reports up to date', async () => {
    const schema = newSchema();
    const lines: string[] = [];
    expect(await runCli(['migrate', '--url', DATABASE_URL, '--schema', schema], (l) => lines.push(l))).toBe(
      0,
    );
    expect(await runCli(['migrate', '--url', DATABASE_URL, '--schema', schema], (l) => lines.push(l))).toBe(
      0,
    );
    expect(lines).toEqual([
      `schema ${schema}: applied 0001_init.sql, 0002_positions_by_transaction.sql, 0003_outbox_commit_order.sql, 0004_processes_schedule_inbox.sql`,
      `schema ${schema} is up to date`,
    ]);
  });

  test('bad usage exits 2 with the usage text; a bad url exits 1', async () => {
    const errors: string[] = [];
    expect(
      await runCli(
        ['frobnicate'],
        () => {},
        (l) => errors.push(l),
      ),
    ).toBe(2);
    expect(errors.join('\n')).toMatch(/usage: finaegis-postgres migrate/);
    expect(
      await runCli(
        ['migrate', '--url', 'postgres://postgres@127.0.0.1:1/test'],
        () => {},
        (l) => errors.push(l),
      ),
    ).toBe(1);
  });

  test('runs as a process', async () => {
    const schema = newSchema();
    const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', bin, 'migrate', '--url', DATABASE_URL, '--schema', schema],
      { cwd: fileURLToPath(new URL('..', import.meta.url)) },
    );
    expect(stdout.trim()).toBe(
      `schema ${schema}: applied 0001_init.sql, 0002_positions_by_transaction.sql, 0003_outbox_commit_order.sql, 0004_processes_schedule_inbox.sql`,
    );
  });
});

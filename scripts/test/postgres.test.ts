import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';

const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

describe('PostgreSQL at DATABASE_URL', () => {
  let client: pg.Client;
  const schema = `finaegis_scripts_${randomBytes(4).toString('hex')}`;

  beforeEach(async () => {
    client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    await client.connect().catch((error: Error) => {
      throw new Error(`PostgreSQL is missing: nothing usable at DATABASE_URL (${error.message})`);
    });
    await client.query(`create schema ${schema}`);
    await client.query(`create table ${schema}.ledger (id serial primary key, amount numeric not null)`);
  });

  afterEach(async () => {
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  });

  test('keeps a committed transaction and forgets a rolled-back one', async () => {
    await client.query('begin');
    await client.query(`insert into ${schema}.ledger (amount) values ($1)`, ['10.25']);
    await client.query('commit');

    await client.query('begin');
    await client.query(`insert into ${schema}.ledger (amount) values ($1)`, ['99.99']);
    const inside = await client.query(`select count(*)::int as n from ${schema}.ledger`);
    expect(inside.rows[0].n).toBe(2);
    await client.query('rollback');

    const after = await client.query(`select amount from ${schema}.ledger order by id`);
    expect(after.rows).toEqual([{ amount: '10.25' }]);
  });
});

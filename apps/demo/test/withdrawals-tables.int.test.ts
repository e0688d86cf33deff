import { randomBytes } from 'node:crypto';
import { afterAll, expect, test } from 'vitest';
import { createPostgresWithdrawalBook } from '../src/withdrawals/postgres-book';
import { DATABASE_URL, dropSchema, openPool } from './fixtures/withdrawal-node';

const schema = `wd_tables_${randomBytes(4).toString('hex')}`;
afterAll(() => dropSchema(schema));

// An API and its workers start together, each making sure the tables exist: none may fail.
test('creating the withdrawal tables from many connections at once succeeds everywhere', async () => {
  const pool = openPool(DATABASE_URL, 8);
  try {
    await pool.query(`CREATE SCHEMA "${schema}"`);
    const book = createPostgresWithdrawalBook(pool, schema);
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => book.ensureTables()));
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    await book.open('alice', 5n);
    expect((await book.accounts()).map((account) => account.account)).toEqual(['alice']);
  } finally {
    await pool.end();
  }
});

import { InvalidArgumentError } from '@finaegis/core';
import { createPostgresCheckpointStore } from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
});
afterAll(async () => {
  await db?.drop();
});

// Load, save, reset and saves in transactions are checked by the contract suite (contract.test.ts).
describe('PostgresCheckpointStore', () => {
  test('refuses a position that is not an integer >= 0 with InvalidArgumentError, before touching the table', async () => {
    const checkpoints = createPostgresCheckpointStore({ pool: db.pool, schema: db.schema });
    for (const position of [-1, 1.5, Number.NaN]) {
      await expect(checkpoints.save('balances', position)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(await checkpoints.load('balances')).toBe(0);
    await checkpoints.close();
    await checkpoints.close();
  });
});

import { PostgresCheckpointStore, PostgresTransactionManager } from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
});
afterAll(async () => {
  await db?.drop();
});

describe('PostgresCheckpointStore', () => {
  test('loads 0 for a new projection, then what was saved', async () => {
    const checkpoints = new PostgresCheckpointStore({ pool: db.pool, schema: db.schema });
    expect(await checkpoints.load('balances')).toBe(0);
    await checkpoints.save('balances', 17);
    await checkpoints.save('balances', 42);
    await checkpoints.save('other', 3);
    expect(await checkpoints.load('balances')).toBe(42);
    expect(await checkpoints.load('other')).toBe(3);
    await expect(checkpoints.save('balances', -1)).rejects.toThrow(/position/);
    await checkpoints.close();
  });

  test('a save inside a transaction rolls back with it', async () => {
    const checkpoints = new PostgresCheckpointStore({ pool: db.pool, schema: db.schema });
    const manager = new PostgresTransactionManager({ pool: db.pool, schema: db.schema });
    await checkpoints.save('tx-projection', 5);
    await expect(
      manager.run(
        async () => {
          await checkpoints.save('tx-projection', 9);
          expect(await checkpoints.load('tx-projection')).toBe(9);
          throw new Error('read model update failed');
        },
        { timeoutMs: 5_000 },
      ),
    ).rejects.toThrow('read model update failed');
    expect(await checkpoints.load('tx-projection')).toBe(5);
  });
});

import { processStoreContract } from '@finaegis/contract-tests';
import { createPostgresProcessStore, createPostgresTransactionManager } from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
});
afterAll(async () => {
  await db?.drop();
});

processStoreContract(
  { describe, test, expect },
  {
    name: 'postgres',
    create: async () => createPostgresProcessStore({ pool: db.pool, schema: db.schema }),
    transactions: {
      create: async () => createPostgresTransactionManager({ pool: db.pool, schema: db.schema }),
      savepoint: true,
    },
  },
);

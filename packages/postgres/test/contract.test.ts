import { eventStoreContract } from '@finaegis/contract-tests';
import { PostgresEventStore } from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
});
afterAll(async () => {
  await db?.drop();
});

eventStoreContract(
  { describe, test, expect },
  { name: 'postgres', create: async () => new PostgresEventStore({ pool: db.pool, schema: db.schema }) },
);

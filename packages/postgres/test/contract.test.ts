import {
  checkpointStoreContract,
  eventStoreContract,
  type TransactionProbe,
  transactionManagerContract,
} from '@finaegis/contract-tests';
import type { TransactionContext } from '@finaegis/core';
import {
  createOutboxRelay,
  createPostgresCheckpointStore,
  createPostgresEventStore,
  createPostgresTransactionManager,
  type OutboxRelay,
} from '@finaegis/postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema, RecordingTransport } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
// The relay of the outbox tests: started once, it sends what every test's transactions commit.
const relayed = new RecordingTransport();
let relay: OutboxRelay | undefined;
beforeAll(async () => {
  db = await freshSchema();
  await db.pool.query(`CREATE TABLE "${db.schema}".probe (key text PRIMARY KEY, value integer NOT NULL)`);
  relay = createOutboxRelay({ pool: db.pool, schema: db.schema, transport: relayed, pollIntervalMs: 50 });
  await relay.start();
});
afterAll(async () => {
  await relay?.stop();
  await db?.drop();
});

eventStoreContract(
  { describe, test, expect },
  { name: 'postgres', create: async () => createPostgresEventStore({ pool: db.pool, schema: db.schema }) },
);

/** The transaction manager contract sees writes through a table written with `tx.client`. */
const probe: TransactionProbe = {
  async write(tx, key, value) {
    await clientOf(tx).query(
      `INSERT INTO "${db.schema}".probe (key, value) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [key, value],
    );
  },
  read: (key) => probeValue(db.pool, key),
  readIn: (tx, key) => probeValue(clientOf(tx), key),
};

function clientOf(tx: TransactionContext): pg.PoolClient {
  return tx.client as pg.PoolClient;
}

async function probeValue(queryable: Pick<pg.Pool, 'query'>, key: string): Promise<number> {
  const { rows } = await queryable.query<{ value: number }>(
    `SELECT value FROM "${db.schema}".probe WHERE key = $1`,
    [key],
  );
  return rows[0]?.value ?? 0;
}

transactionManagerContract(
  { describe, test, expect },
  {
    name: 'postgres',
    features: { savepoint: true, outbox: true },
    create: async () => createPostgresTransactionManager({ pool: db.pool, schema: db.schema }),
    probe,
    sent: async (channel) => relayed.sent.filter((s) => s.channel === channel).map((s) => s.message),
  },
);

checkpointStoreContract(
  { describe, test, expect },
  {
    name: 'postgres',
    create: async () => createPostgresCheckpointStore({ pool: db.pool, schema: db.schema }),
    transactions: {
      create: async () => createPostgresTransactionManager({ pool: db.pool, schema: db.schema }),
      savepoint: true,
    },
  },
);

// Unit tests: option and argument checks that refuse before any connection is made (no database).
import { ConfigError, InvalidArgumentError } from '@finaegis/core';
import { createMemoryTransport } from '@finaegis/memory';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import {
  createOutboxRelay,
  createPostgresCheckpointStore,
  createPostgresEventStore,
  createPostgresTransactionManager,
  PostgresError,
} from '../src/index';

// A pool that is never used: pg connects on the first query only.
const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
afterAll(() => pool.end());

function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('factories refuse bad options with a ConfigError naming this package', () => {
  test.each([
    ['schema', () => createPostgresEventStore({ pool, schema: 'no-dashes' })],
    ['schema', () => createPostgresTransactionManager({ pool, schema: '1st' })],
    ['schema', () => createPostgresCheckpointStore({ pool, schema: '' })],
    ['batchSize', () => createOutboxRelay({ pool, transport: createMemoryTransport(), batchSize: 0 })],
    ['leaseMs', () => createOutboxRelay({ pool, transport: createMemoryTransport(), leaseMs: -1 })],
    [
      'ordering',
      () => createOutboxRelay({ pool, transport: createMemoryTransport(), ordering: 'x' as never }),
    ],
  ])('%s', (key, make) => {
    const error = thrown(make);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as ConfigError).adapter).toBe('@finaegis/postgres');
    expect((error as ConfigError).message).toMatch(/^\[@finaegis\/postgres\] /);
  });
});

describe('bad call arguments are InvalidArgumentError before any query', () => {
  test('event store, checkpoint store and transaction manager', async () => {
    const store = createPostgresEventStore({ pool });
    const checkpoints = createPostgresCheckpointStore({ pool });
    const transactions = createPostgresTransactionManager({ pool });
    const refusals = [
      store.append('s', [], { expectedVersion: -1 }),
      checkpoints.save('p', 1.5),
      transactions.run(async () => 1, { timeoutMs: 0 }),
    ];
    for (const refusal of refusals) {
      const error = await refusal.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).adapter).toBe('@finaegis/postgres');
    }
  });
});

test('PostgresError carries its reason and this package as adapter', () => {
  const cause = new Error('syntax error');
  const error = new PostgresError('migration-failed', 'migration 001.sql failed', { cause });
  expect(error.reason).toBe('migration-failed');
  expect(error.adapter).toBe('@finaegis/postgres');
  expect(error.code).toBe('POSTGRES');
  expect(error.cause).toBe(cause);
  expect(error.retryable).toBe(true);
  expect(new PostgresError('stopped', 'OutboxRelay was stopped').retryable).toBe(false);
});

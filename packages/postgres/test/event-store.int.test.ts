import {
  ConcurrencyError,
  DuplicateEventError,
  type NewEvent,
  newId,
  type StoredEvent,
} from '@finaegis/core';
import {
  createPostgresEventStore,
  createPostgresTransactionManager,
  type PostgresEventStore,
} from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema(40);
});
afterAll(async () => {
  await db?.drop();
});

function event(type: string, data: Record<string, unknown> = {}): NewEvent {
  return { eventId: newId(), type, data, metadata: { source: 'test' }, occurredAt: Date.now() };
}

function store(): PostgresEventStore {
  return createPostgresEventStore({ pool: db.pool, schema: db.schema });
}

async function lastPosition(): Promise<number> {
  const { rows } = await db.pool.query<{ p: string }>(
    `SELECT coalesce(max(position), 0) AS p FROM "${db.schema}".events`,
  );
  return Number(rows[0]!.p);
}

describe('PostgresEventStore', () => {
  test('appends, reads back, and rejects a stale expected version without writing', async () => {
    const s = store();
    const stream = `s-${newId()}`;
    const result = await s.append(stream, [event('a', { n: 1 }), event('b')], { expectedVersion: 0 });
    expect(result.version).toBe(2);
    const read = await s.readStream(stream);
    expect(read.map((e) => e.type)).toEqual(['a', 'b']);
    expect(read[0]!.data).toEqual({ n: 1 });
    expect(read[0]!.metadata).toEqual({ source: 'test' });
    const error = await s.append(stream, [event('c')], { expectedVersion: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect((error as ConcurrencyError).actualVersion).toBe(2);
    expect(await s.streamVersion(stream)).toBe(2);
    await s.close();
  });

  test('N concurrent read-decide-append writers to one stream lose no update', async () => {
    const s = store();
    const stream = `counter-${newId()}`;
    const writers = 16;
    const incrementsEach = 5;
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let i = 0; i < incrementsEach; i++) {
          for (;;) {
            const version = await s.streamVersion(stream);
            try {
              await s.append(stream, [event('Incremented', { writer, i })], { expectedVersion: version });
              break;
            } catch (error) {
              if (!(error instanceof ConcurrencyError)) throw error;
              conflicts++;
            }
          }
        }
      }),
    );
    const read = await s.readStream(stream);
    expect(read).toHaveLength(writers * incrementsEach);
    expect(read.map((e) => e.version)).toEqual(read.map((_, index) => index + 1));
    for (let writer = 0; writer < writers; writer++) {
      expect(read.filter((e) => e.data.writer === writer)).toHaveLength(incrementsEach);
    }
    // The race is real: some writers had to retry.
    expect(conflicts).toBeGreaterThan(0);
    await s.close();
  });

  test('a later append does not wait for an open transaction, and readAll keeps it out until that transaction ends', async () => {
    const s = createPostgresEventStore({ pool: db.pool, schema: db.schema, holdBackWaitMs: 50 });
    const manager = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    const before = await lastPosition();
    let letCommit!: () => void;
    const mayCommit = new Promise<void>((resolve) => {
      letCommit = resolve;
    });
    let appendedInTx!: () => void;
    const inTx = new Promise<void>((resolve) => {
      appendedInTx = resolve;
    });
    const first = `first-${newId()}`;
    const second = `second-${newId()}`;
    const running = manager.run(
      async () => {
        await s.append(first, [event('First')], { expectedVersion: 0 });
        appendedInTx();
        await mayCommit;
      },
      { timeoutMs: 20_000 },
    );
    await inTx;
    // No global lock: the second append commits while the first transaction is still open.
    const result = await s.append(second, [event('Second')], { expectedVersion: 0 });
    expect(await s.readStream(second)).toHaveLength(1);
    // It sits above the open transaction's position, so readers of the global order wait for it.
    expect(await s.readAll({ after: before })).toEqual([]);
    letCommit();
    await running;
    // Waits (as readAll does by default) for other test files' transactions in this database.
    const all = await store().readAll({ after: before });
    expect(all.map((e) => e.streamId)).toEqual([first, second]);
    expect(result.position).toBe(all[1]!.position);
    expect(all[1]!.position).toBeGreaterThan(all[0]!.position);
    await s.close();
  });

  test('a tailing reader following readAll({ after }) under concurrent writers misses nothing', async () => {
    const s = store();
    const start = await lastPosition();
    const writers = 12;
    const appendsEach = 15;
    const seen: StoredEvent[] = [];
    let writing = true;
    const reader = (async () => {
      let after = start;
      for (;;) {
        const stillWriting = writing;
        const page = await s.readAll({ after, limit: 50 });
        seen.push(...page);
        if (page.length > 0) after = page[page.length - 1]!.position;
        else if (!stillWriting) return;
      }
    })();
    // Each batch of writers also holds a transaction open for a moment, so commits interleave.
    const manager = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const stream = `tail-${writer}-${newId()}`;
        for (let i = 0; i < appendsEach; i++) {
          if (i % 3 === 0) {
            await manager.run(
              async () => {
                await s.append(stream, [event('T', { writer, i })], { expectedVersion: i });
                await new Promise((resolve) => setImmediate(resolve));
              },
              { timeoutMs: 10_000 },
            );
          } else {
            await s.append(stream, [event('T', { writer, i })], { expectedVersion: i });
          }
        }
      }),
    );
    writing = false;
    await reader;
    expect(seen).toHaveLength(writers * appendsEach);
    expect(new Set(seen.map((e) => e.eventId)).size).toBe(writers * appendsEach);
    for (let index = 1; index < seen.length; index++) {
      expect(seen[index]!.position).toBeGreaterThan(seen[index - 1]!.position);
    }
    await s.close();
  });

  test('inside a transaction, appends and reads use its client and roll back with it', async () => {
    const s = store();
    const manager = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    const stream = `tx-${newId()}`;
    await expect(
      manager.run(
        async () => {
          await s.append(stream, [event('A')], { expectedVersion: 0 });
          // Read-your-writes through the same transaction.
          expect(await s.streamVersion(stream)).toBe(1);
          await s.saveSnapshot({ streamId: stream, version: 1, state: { a: 1 } });
          throw new Error('changed my mind');
        },
        { timeoutMs: 10_000 },
      ),
    ).rejects.toThrow('changed my mind');
    expect(await s.streamVersion(stream)).toBe(0);
    expect(await s.loadSnapshot(stream)).toBeUndefined();

    await manager.run(
      async () => {
        await s.append(stream, [event('A')], { expectedVersion: 0 });
        // A conflict inside a transaction does not abort it: the caller may catch and go on.
        await expect(s.append(stream, [event('B')], { expectedVersion: 0 })).rejects.toBeInstanceOf(
          ConcurrencyError,
        );
        await s.append(stream, [event('B')], { expectedVersion: 1 });
      },
      { timeoutMs: 10_000 },
    );
    expect((await s.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B']);
    await s.close();
  });

  test('joinTransactions: false keeps the store on its own connections', async () => {
    const s = createPostgresEventStore({ pool: db.pool, schema: db.schema, joinTransactions: false });
    const manager = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    const stream = `own-${newId()}`;
    await expect(
      manager.run(
        async () => {
          await s.append(stream, [event('A')], { expectedVersion: 0 });
          throw new Error('rollback');
        },
        { timeoutMs: 10_000 },
      ),
    ).rejects.toThrow('rollback');
    expect(await s.streamVersion(stream)).toBe(1);
    await s.close();
  });

  test('a duplicate event id anywhere is DuplicateEventError and writes nothing', async () => {
    const s = store();
    const a = `dup-a-${newId()}`;
    const b = `dup-b-${newId()}`;
    const shared = event('Shared');
    await s.append(a, [shared], { expectedVersion: 0 });
    await expect(s.append(b, [event('X'), shared], { expectedVersion: 0 })).rejects.toBeInstanceOf(
      DuplicateEventError,
    );
    expect(await s.streamVersion(b)).toBe(0);
    await s.close();
  });

  test('bad arguments are typed errors', async () => {
    const s = store();
    await expect(s.append('x', [event('A')], { expectedVersion: -1 })).rejects.toThrow(/expectedVersion/);
    await expect(s.readAll({ after: -5 })).rejects.toThrow(/after/);
    await expect(s.readStream('x', { fromVersion: 0 })).rejects.toThrow(/fromVersion/);
    expect(() => createPostgresEventStore({ pool: db.pool, schema: 'bad"schema' })).toThrow(/schema/);
    await s.close();
  });

  test('opens and closes its own pool from a connection string', async () => {
    const s = createPostgresEventStore({ schema: db.schema });
    const stream = `own-pool-${newId()}`;
    await s.append(stream, [event('A')], { expectedVersion: 'no_stream' });
    expect(await s.streamVersion(stream)).toBe(1);
    await s.close();
    await s.close();
    await expect(s.streamVersion(stream)).rejects.toThrow();
  });
});

import { ConcurrencyError, newId } from '@finaegis/core';
import {
  createPostgresEventStore,
  createPostgresTransactionManager,
  PostgresError,
} from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
});
afterAll(async () => {
  await db?.drop();
});

const RUN = { timeoutMs: 10_000 };
const event = () => ({
  eventId: newId(),
  type: 'test.Counted',
  data: {},
  metadata: {},
  occurredAt: Date.now(),
});

describe('PostgresEventStore.lockStream', () => {
  test('outside a transaction it refuses with PostgresError no-transaction', async () => {
    const store = createPostgresEventStore({ pool: db.pool, schema: db.schema });
    const error = await store.lockStream('s-outside').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresError);
    expect((error as PostgresError).reason).toBe('no-transaction');
    expect((error as Error).message).toContain("lockStream('s-outside')");
  });

  test('writers that lock one stream take turns: read, decide, append never conflicts', async () => {
    const store = createPostgresEventStore({ pool: db.pool, schema: db.schema });
    const tm = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    const stream = `s-${newId()}`;
    const writers = 8;
    const perWriter = 10;
    let inside = 0;
    let mostInside = 0;
    const conflicts: unknown[] = [];
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = 0; i < perWriter; i += 1) {
          await tm.run(async () => {
            await store.lockStream(stream);
            inside += 1;
            mostInside = Math.max(mostInside, inside);
            try {
              // Read-then-append on the version just read: without the lock, writers race here.
              const version = await store.streamVersion(stream);
              await new Promise((resolve) => setTimeout(resolve, 1));
              await store.append(stream, [event()], { expectedVersion: version });
            } catch (error) {
              if (error instanceof ConcurrencyError) conflicts.push(error);
              throw error;
            } finally {
              inside -= 1;
            }
          }, RUN);
        }
      }),
    );
    expect(conflicts).toEqual([]);
    expect(mostInside).toBe(1);
    expect(await store.streamVersion(stream)).toBe(writers * perWriter);
  });

  test('locks on different streams do not wait for each other', async () => {
    const store = createPostgresEventStore({ pool: db.pool, schema: db.schema });
    const tm = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstLocked!: () => void;
    const locked = new Promise<void>((resolve) => {
      firstLocked = resolve;
    });
    const first = tm.run(async () => {
      await store.lockStream('s-a');
      firstLocked();
      await firstHolds;
    }, RUN);
    await locked;
    // Another stream's lock is granted while s-a is held; s-a's own is not.
    await tm.run(() => store.lockStream('s-b'), RUN);
    let secondGot = false;
    const second = tm.run(async () => {
      await store.lockStream('s-a');
      secondGot = true;
    }, RUN);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(secondGot).toBe(false);
    releaseFirst();
    await first;
    await second;
    expect(secondGot).toBe(true);
  });
});

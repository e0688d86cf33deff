// Appends no longer serialise on a global lock, so transactions commit in any order relative to
// the positions they took. This is the proof that readers of the global order still never skip
// or reorder a committed event.
import { type NewEvent, newId, type StoredEvent } from '@finaegis/core';
import { createPostgresEventStore, createPostgresTransactionManager } from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema(48);
});
afterAll(async () => {
  await db?.drop();
});

function event(writer: number, i: number): NewEvent {
  return { eventId: newId(), type: 'T', data: { writer, i }, metadata: {}, occurredAt: Date.now() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('readAll under many concurrent writers', () => {
  test('a live reader sees every committed event exactly once, in the one order a later full read gives', async () => {
    const store = createPostgresEventStore({ pool: db.pool, schema: db.schema });
    const manager = createPostgresTransactionManager({ pool: db.pool, schema: db.schema });
    const writers = 32;
    const appendsEach = 40;
    const seen: StoredEvent[] = [];
    let writing = true;
    const reader = (async () => {
      let after = 0;
      for (;;) {
        const done = !writing;
        const page = await store.readAll({ after, limit: 100 });
        seen.push(...page);
        if (page.length > 0) after = page[page.length - 1]!.position;
        // Only stop after a read that started once every writer had committed and came back empty.
        else if (done) return;
        else await sleep(1);
      }
    })();
    let rolledBack = 0;
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const stream = `w-${writer}-${newId()}`;
        let version = 0;
        for (let i = 0; i < appendsEach; i++) {
          const kind = (writer + i) % 5;
          if (kind === 0) {
            // Takes a position, then holds its transaction open while others commit past it.
            await manager.run(
              async () => {
                await store.append(stream, [event(writer, i)], { expectedVersion: version });
                await sleep(3 + (i % 7));
              },
              { timeoutMs: 10_000 },
            );
            version++;
          } else if (kind === 1) {
            // Two events in one append, and a second append in the same transaction.
            await manager.run(
              async () => {
                await store.append(stream, [event(writer, i), event(writer, i)], {
                  expectedVersion: version,
                });
                await store.append(stream, [event(writer, i)], { expectedVersion: version + 2 });
              },
              { timeoutMs: 10_000 },
            );
            version += 3;
          } else if (kind === 2 && i % 3 === 0) {
            // A position taken and rolled back: a gap, never an event.
            await manager
              .run(
                async () => {
                  await store.append(stream, [event(writer, i)], { expectedVersion: version });
                  throw new Error('roll back');
                },
                { timeoutMs: 10_000 },
              )
              .catch(() => rolledBack++);
          } else {
            await store.append(stream, [event(writer, i)], { expectedVersion: version });
            version++;
          }
        }
      }),
    );
    writing = false;
    await reader;

    const everything = await store.readAll();
    expect(rolledBack).toBeGreaterThan(0);
    expect(everything.length).toBeGreaterThan(writers * appendsEach);
    // Exactly once: as many as stored, no id twice.
    expect(seen.length).toBe(everything.length);
    expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length);
    // One consistent order: the live reader's order is the order of a full read afterwards.
    expect(seen.map((e) => e.eventId)).toEqual(everything.map((e) => e.eventId));
    for (let index = 1; index < seen.length; index++) {
      expect(seen[index]!.position).toBeGreaterThan(seen[index - 1]!.position);
    }
    await store.close();
  }, 60_000);
});

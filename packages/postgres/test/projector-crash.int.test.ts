// A projector killed in the middle of a batch: with `transaction`, the batch's effects and its
// checkpoint commit together, so after a restart every event has taken effect exactly once; without
// it, the event whose effect was written just before the kill is applied again.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EventSerializer } from '@finaegis/core';
import { createPostgresEventStore } from '@finaegis/postgres';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Tick, tickRegistry } from './fixtures/tick';
import { DATABASE_URL, freshSchema } from './helpers';

const EVENTS = 30;
let db: Awaited<ReturnType<typeof freshSchema>>;
beforeEach(async () => {
  db = await freshSchema();
  await db.pool.query(
    `CREATE TABLE "${db.schema}".applied (event_id text NOT NULL, position bigint NOT NULL)`,
  );
  const store = createPostgresEventStore({ pool: db.pool, schema: db.schema });
  const serializer = new EventSerializer(tickRegistry());
  for (let n = 0; n < EVENTS; n++) {
    await store.append('ticks', [serializer.serialize(new Tick(n, Date.now()))], { expectedVersion: n });
  }
});
afterEach(async () => {
  await db?.drop();
});

/** Runs the child once; resolves with how it ended. */
function runChild(
  mode: 'tx' | 'plain',
  crashAt: number,
): Promise<{ code: number | null; signal: string | null; out: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./fixtures/projector-crash-child.ts', import.meta.url)),
      db.schema,
      mode,
      String(crashAt),
    ],
    { cwd: fileURLToPath(new URL('..', import.meta.url)), env: { ...process.env, DATABASE_URL } },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out })));
}

async function effects(): Promise<{ rows: number; distinct: number; checkpoint: number }> {
  const counts = await db.pool.query<{ rows: string; distinct: string }>(
    `SELECT count(*) AS rows, count(DISTINCT event_id) AS distinct FROM "${db.schema}".applied`,
  );
  const saved = await db.pool.query<{ p: string }>(
    `SELECT position AS p FROM "${db.schema}".checkpoints WHERE projection = 'crash'`,
  );
  return {
    rows: Number(counts.rows[0]!.rows),
    distinct: Number(counts.rows[0]!.distinct),
    checkpoint: Number(saved.rows[0]?.p ?? 0),
  };
}

describe('a projector SIGKILLed mid-batch, then restarted', () => {
  test('with transaction: the cut batch is rolled back whole; after the restart each event took effect once', async () => {
    const crashed = await runChild('tx', 15);
    expect(crashed.signal).toBe('SIGKILL');
    const afterCrash = await effects();
    // Batch one (10 events) committed with its checkpoint; the five rows of batch two went with the kill.
    expect(afterCrash.rows).toBe(10);
    const restarted = await runChild('tx', 0);
    expect(restarted.code, restarted.out).toBe(0);
    expect(restarted.out).toContain(`applied ${EVENTS - 10}`);
    expect(await effects()).toMatchObject({ rows: EVENTS, distinct: EVENTS });
  });

  test('without it (checkpoint after each event): the event written just before the kill is applied twice', async () => {
    const crashed = await runChild('plain', 15);
    expect(crashed.signal).toBe('SIGKILL');
    expect((await effects()).rows).toBe(15);
    const restarted = await runChild('plain', 0);
    expect(restarted.code, restarted.out).toBe(0);
    expect(await effects()).toMatchObject({ rows: EVENTS + 1, distinct: EVENTS });
  });
});

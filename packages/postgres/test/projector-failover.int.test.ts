// One active projector: three processes run the same projection with a PostgreSQL lease; only the
// holder applies events. The test SIGKILLs the holder twice while events keep coming and checks
// that another process takes over within seconds, that checkpoints never go backwards, and that
// every event is applied (at most one again per kill: handler and checkpoint are not one transaction).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EventSerializer } from '@finaegis/core';
import { createPostgresEventStore } from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Tick, tickRegistry } from './fixtures/tick';
import { DATABASE_URL, freshSchema, waitUntil } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
const children: ChildProcessWithoutNullStreams[] = [];
beforeAll(async () => {
  db = await freshSchema();
  await db.pool.query(
    `CREATE TABLE "${db.schema}".applied (event_id text NOT NULL, process text NOT NULL, position bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  );
});
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await db?.drop();
});

function startProjector(id: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./fixtures/projector-child.ts', import.meta.url)),
      db.schema,
      id,
    ],
    {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, DATABASE_URL },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`projector ${id} exited with ${code}: ${stderr}`)));
  });
}

describe('one active projector across processes', () => {
  test('three processes: only the lease holder applies; SIGKILLed twice, another takes over within seconds; checkpoints never go back', async () => {
    const ids = ['p1', 'p2', 'p3'];
    const processes = new Map(
      await Promise.all(ids.map(async (id) => [id, await startProjector(id)] as const)),
    );
    const store = createPostgresEventStore({ pool: db.pool, schema: db.schema });
    const serializer = new EventSerializer(tickRegistry());

    // Events keep coming, one every 5 ms, while checkpoints are watched.
    let appending = true;
    let appended = 0;
    const appendedIds: string[] = [];
    const writer = (async () => {
      while (appending) {
        const stored = serializer.serialize(new Tick(appended, Date.now(), { aggregateId: 'ticks' }));
        await store.append('ticks', [stored], { expectedVersion: appended });
        appendedIds.push(stored.eventId);
        appended++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const checkpoints: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const { rows } = await db.pool.query<{ p: string }>(
          `SELECT position AS p FROM "${db.schema}".checkpoints WHERE projection = 'failover'`,
        );
        if (rows[0] !== undefined) checkpoints.push(Number(rows[0].p));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    async function holder(): Promise<string> {
      let id = '';
      await waitUntil(async () => {
        const { rows } = await db.pool.query<{ process: string }>(
          `SELECT process FROM "${db.schema}".applied ORDER BY at DESC LIMIT 1`,
        );
        id = rows[0]?.process ?? '';
        return id !== '';
      }, 'a projector to apply something');
      return id;
    }

    const takeoverMs: number[] = [];
    for (let kill = 0; kill < 2; kill++) {
      await waitUntil(async () => appended >= 60 * (kill + 1), 'more events');
      const victim = await holder();
      processes.get(victim)!.kill('SIGKILL');
      const killedAt = Date.now();
      let successor = '';
      await waitUntil(
        async () => {
          const { rows } = await db.pool.query<{ process: string }>(
            `SELECT process FROM "${db.schema}".applied WHERE process <> $1 AND at > to_timestamp($2 / 1000.0) LIMIT 1`,
            [victim, killedAt],
          );
          successor = rows[0]?.process ?? '';
          return successor !== '';
        },
        'another process to take over',
        15_000,
      );
      takeoverMs.push(Date.now() - killedAt);
      processes.delete(victim);
    }
    appending = false;
    await writer;
    // Everything appended is applied by the last process standing.
    await waitUntil(async () => {
      const { rows } = await db.pool.query<{ n: string }>(
        `SELECT count(DISTINCT event_id) AS n FROM "${db.schema}".applied`,
      );
      return Number(rows[0]!.n) === appended;
    }, 'every event to be applied');
    watching = false;
    await watcher;

    const { rows } = await db.pool.query<{ event_id: string; process: string }>(
      `SELECT event_id, process FROM "${db.schema}".applied ORDER BY at, position`,
    );
    // Only one process applied at a time: the appliers form at most three runs, one per holder.
    const runs = rows.filter((row, index) => index === 0 || rows[index - 1]!.process !== row.process);
    expect(runs.length).toBeLessThanOrEqual(3);
    expect(new Set(runs.map((row) => row.process)).size).toBe(runs.length);
    // Every event applied; at most one applied again per kill.
    expect(new Set(rows.map((row) => row.event_id))).toEqual(new Set(appendedIds));
    expect(rows.length - appended).toBeLessThanOrEqual(2);
    // Checkpoints never went backwards.
    for (let index = 1; index < checkpoints.length; index++) {
      expect(checkpoints[index]!).toBeGreaterThanOrEqual(checkpoints[index - 1]!);
    }
    for (const ms of takeoverMs) expect(ms).toBeLessThan(5_000);
    console.log(
      `[projector failover] takeover after SIGKILL: ${takeoverMs.join(' ms, ')} ms; ${appended} events, ${rows.length - appended} applied twice`,
    );
    await store.close();
  }, 60_000);
});

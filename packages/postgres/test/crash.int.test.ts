import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createOutboxRelay } from '@finaegis/postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DATABASE_URL, freshSchema, RecordingTransport } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
});
afterAll(async () => {
  await db?.drop();
});

describe('crash', () => {
  test('a process killed after commit, before its relay sent anything, loses no outbox row', async () => {
    const rows = 250;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url)),
        db.schema,
        String(rows),
        '500',
      ],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...process.env, DATABASE_URL },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('sending')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
    });
    expect(stdout).toContain('committed');
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const pendingAfterCrash = await db.pool.query<{ n: string; leased: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE claimed_by IS NOT NULL) AS leased
       FROM "${db.schema}".outbox WHERE sent_at IS NULL`,
    );
    expect(Number(pendingAfterCrash.rows[0]!.n)).toBe(rows);
    // The dead relay had claimed a batch; its lease runs out and a new relay takes over.
    expect(Number(pendingAfterCrash.rows[0]!.leased)).toBeGreaterThan(0);

    const transport = new RecordingTransport();
    const relay = createOutboxRelay({ pool: db.pool, schema: db.schema, transport, listen: false });
    while ((await relay.pending()) > 0) {
      if ((await relay.runOnce()) === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await relay.stop();
    const ids = transport.sent.map((s) => s.message.id);
    expect(ids).toHaveLength(rows);
    expect(new Set(ids).size).toBe(rows);
    expect(ids).toEqual(Array.from({ length: rows }, (_, i) => `crash-${i}`));
  });
});

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { decodeJson } from '@finaegis/core';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { assertRedisUp, deleteKeys, REDIS_URL, uniquePrefix } from './helpers';

const packageDir = resolve(import.meta.dirname, '..');

interface Quote {
  readonly pair: string;
  readonly computedBy: number;
  readonly run: number;
}
interface Asked {
  readonly results: Quote[];
  readonly stats: { hits: number; misses: number; coalesced: number; errors: number };
}

/** One process of the fleet: test/fixtures/flight-peer.ts through tsx. */
class Peer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ready: Promise<number>;
  readonly #waiting = new Map<number, (reply: { ok: boolean; result?: unknown; error?: string }) => void>();
  readonly #onStart: (run: number, pid: number) => void;
  #nextId = 1;
  #stderr = '';

  constructor(env: Record<string, string>, onStart: (run: number, pid: number) => void) {
    this.#onStart = onStart;
    this.child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/flight-peer.ts'], {
      cwd: packageDir,
      env: { ...process.env, REDIS_URL, ...env },
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    const lines = createInterface({ input: this.child.stdout });
    this.ready = new Promise((resolveReady, rejectReady) => {
      this.child.once('exit', (code, signal) =>
        rejectReady(new Error(`peer exited with ${code ?? signal}: ${this.#stderr}`)),
      );
      lines.on('line', (line) => {
        const message = decodeJson(line) as { ready?: boolean; pid?: number; id?: number; started?: number };
        if (message.ready === true) resolveReady(message.pid ?? 0);
        else if (message.started !== undefined) this.#onStart(message.started, message.pid ?? 0);
        else if (message.id !== undefined) this.#waiting.get(message.id)?.(message as never);
      });
    });
    this.ready.catch(() => {});
  }

  async askMany(count: number): Promise<Asked> {
    await this.ready;
    const id = this.#nextId++;
    const reply = await new Promise<{ ok: boolean; result?: unknown; error?: string }>((done, fail) => {
      this.#waiting.set(id, done);
      this.child.once('exit', (code, signal) => fail(new Error(`peer exited with ${code ?? signal}`)));
      this.child.stdin.write(`${JSON.stringify({ id, op: 'askMany', count })}\n`);
    });
    if (!reply.ok) throw new Error(`peer askMany failed: ${reply.error}`);
    return reply.result as Asked;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((done) => this.child.once('exit', done));
    this.child.stdin.end();
    const forced = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(forced);
  }
}

const peers: Peer[] = [];
const prefixes: string[] = [];

function fleet(
  label: string,
  size: number,
  env: Record<string, string>,
  onStart: (run: number, pid: number) => void = () => {},
): { peers: Peer[]; prefix: string } {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  const started = Array.from({ length: size }, () => new Peer({ CACHE_PREFIX: prefix, ...env }, onStart));
  peers.push(...started);
  return { peers: started, prefix };
}

async function runsCounted(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  try {
    return Number((await redis.get(`${prefix}runs`)) ?? 0);
  } finally {
    redis.disconnect();
  }
}

beforeAll(async () => {
  await assertRedisUp();
});

afterEach(async () => {
  await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  await Promise.all(prefixes.splice(0).map((prefix) => deleteKeys(prefix)));
});

describe('single flight across 4 processes sharing Redis', () => {
  test('200 concurrent misses of one key on 4 processes run the handler once', async () => {
    const { peers: four, prefix } = fleet('flight-once', 4, { LEASE_MS: '5000', FIRST_RUN_MS: '300' });
    await Promise.all(four.map((peer) => peer.ready));

    const answers = await Promise.all(four.map((peer) => peer.askMany(50)));

    expect(await runsCounted(prefix)).toBe(1);
    const results = answers.flatMap((answer) => answer.results);
    expect(results).toHaveLength(200);
    expect(new Set(results.map((quote) => `${quote.computedBy}:${quote.run}`)).size).toBe(1);
    // Every call counted once: one miss in all, the rest coalesced (waited for the result) or hits.
    const stats = answers.map((answer) => answer.stats);
    const sum = (field: 'hits' | 'misses' | 'coalesced' | 'errors') =>
      stats.reduce((total, s) => total + s[field], 0);
    expect(sum('misses')).toBe(1);
    expect(sum('hits') + sum('misses') + sum('coalesced')).toBe(200);
    expect(sum('errors')).toBe(0);
    console.log(
      `[single-flight] 4 processes × 50 concurrent misses: 1 handler run; hits ${sum('hits')}, misses ${sum('misses')}, coalesced ${sum('coalesced')}`,
    );
  }, 60_000);

  test('when the lease holder is killed mid-run, the others take over within the lease time: one more run', async () => {
    const leaseMs = 1500;
    let killedAt = 0;
    let takenOverAt = 0;
    let holder: Peer | undefined;
    const { peers: four, prefix } = fleet(
      'flight-kill',
      4,
      { LEASE_MS: String(leaseMs), FIRST_RUN_MS: '30000', LATER_RUN_MS: '100' },
      (run, pid) => {
        if (run === 2) takenOverAt = Date.now();
        if (run !== 1) return;
        holder = four.find((peer) => peer.child.pid === pid);
        killedAt = Date.now();
        holder?.child.kill('SIGKILL');
      },
    );
    await Promise.all(four.map((peer) => peer.ready));

    const asked = four.map((peer) => peer.askMany(50).then((answer) => ({ answer, at: Date.now() })));
    const settled = await Promise.allSettled(asked);

    expect(holder).toBeDefined();
    const survivors = settled.filter((outcome) => outcome.status === 'fulfilled');
    expect(survivors).toHaveLength(3);
    const recoveredAt = Math.max(...survivors.map((outcome) => outcome.value.at));
    // The lease was taken before the kill, so the takeover comes within the lease time (plus one
    // poll and a margin for a busy machine); everyone has the result once the 100 ms rerun is done.
    expect(takenOverAt - killedAt).toBeLessThan(leaseMs + 300);
    expect(recoveredAt - killedAt).toBeLessThan(leaseMs + 1500);
    expect(await runsCounted(prefix)).toBe(2);
    const results = survivors.flatMap((outcome) => outcome.value.answer.results);
    expect(results).toHaveLength(150);
    expect(results.every((quote) => quote.run === 2)).toBe(true);
    const stats = survivors.map((outcome) => outcome.value.answer.stats);
    expect(stats.reduce((total, s) => total + s.misses, 0)).toBe(1);
    expect(stats.reduce((total, s) => total + s.hits + s.misses + s.coalesced, 0)).toBe(150);
    console.log(
      `[single-flight] holder killed; lease taken over ${takenOverAt - killedAt} ms later, every caller answered ${recoveredAt - killedAt} ms later (lease ${leaseMs} ms, rerun 100 ms)`,
    );
  }, 60_000);
});

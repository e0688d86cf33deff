import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const demoDir = resolve(import.meta.dirname, '..');
const running: ChildProcess[] = [];

function cli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: demoDir,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
  });
  running.push(child);
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, output, exited };
}

async function waitFor(run: ReturnType<typeof cli>, pattern: RegExp): Promise<RegExpExecArray> {
  for (;;) {
    const match = pattern.exec(run.output.stdout);
    if (match !== null) return match;
    if (run.child.exitCode !== null)
      throw new Error(`exited with ${run.child.exitCode}: ${run.output.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('the demo command', () => {
  it('stops at start-up with exit code 1 and a message naming a bad setting', async () => {
    const run = cli(['start'], { QUEUE_CONNECTION: 'rabbitmq' });
    expect(await run.exited).toBe(1);
    expect(run.output.stderr).toContain('QUEUE_CONNECTION="rabbitmq": expected one of memory, bullmq, kafka');
    const badLevel = cli([], { LOG_LEVEL: 'loud' });
    expect(await badLevel.exited).toBe(1);
    expect(badLevel.output.stderr).toContain('LOG_LEVEL');
  });

  it('starts everything in one process with no arguments, prints the URL, serves the page and the load command', async () => {
    const demo = cli([]);
    const [, url] = await waitFor(demo, /Open (http:\/\/127\.0\.0\.1:\d+\/)/);
    expect(demo.output.stdout).toContain('queue memory, cache memory, event store memory');
    const page = await fetch(url!);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('FinAegis exchange demo');

    const load = cli(['load', '--orders', '60', '--concurrency', '4', '--url', url!, '--async']);
    expect(await load.exited).toBe(0);
    expect(load.output.stdout).toMatch(/orders: +60 \(60 ok, 0 failed\)/);
    expect(load.output.stdout).toMatch(/throughput: +[\d.]+ orders\/s/);
    expect(load.output.stdout).toMatch(/latency: +p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/);
    expect(load.output.stderr).toContain('[##########] 60/60');

    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
  });
});

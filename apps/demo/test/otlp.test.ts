// With OTEL_EXPORTER_OTLP_ENDPOINT set, the demo exports its traces and metrics over OTLP/HTTP: a
// small collector stand-in here records what arrives.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { eventually } from './helpers';

const demoDir = resolve(import.meta.dirname, '..');
const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

it('exports traces and metrics to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
  const received: Array<{ path: string; type: string; bytes: number }> = [];
  const collector = createServer((request: IncomingMessage, response) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.on('end', () => {
      received.push({ path: request.url ?? '', type: request.headers['content-type'] ?? '', bytes });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((done) => collector.listen(0, '127.0.0.1', done));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], {
      cwd: demoDir,
      env: {
        ...process.env,
        PORT: '0',
        LOG_LEVEL: 'warn',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_METRIC_EXPORT_INTERVAL: '300',
      },
    });
    running.push(child);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const url = await eventually(async () => /Open (http:\/\/\S+?)\/? /.exec(stdout)?.[1], 30_000);
    const placed = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { authorization: 'Bearer demo-alice', 'content-type': 'application/json' },
      body: JSON.stringify({ pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '0.1', price: '29000' }),
    });
    expect(placed.status).toBe(201);
    await eventually(
      async () =>
        received.some((r) => r.path === '/v1/traces' && r.bytes > 0) &&
        received.some((r) => r.path === '/v1/metrics' && r.bytes > 0)
          ? true
          : undefined,
      20_000,
    );
  } finally {
    collector.closeAllConnections();
    await new Promise((done) => collector.close(done));
  }
});

import { DEMO_ACCOUNTS } from './config/domain';

export interface LoadOptions {
  /** Base URL of a running API. */
  readonly url: string;
  readonly orders: number;
  readonly concurrency: number;
  /** Send through `POST /orders?async=1` (202, handled by workers) instead of synchronously. */
  readonly async: boolean;
  readonly pair: string;
  /** Where the progress bar goes (a TTY gets a redrawn bar, anything else a line per 10 %). */
  readonly progress?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface LoadResult {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Status codes of failed requests, with counts. */
  readonly failures: Record<string, number>;
  readonly seconds: number;
  readonly perSecond: number;
  /** Latency percentiles in milliseconds. */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  /** Ids of the orders the API accepted, by the index of the order (a hole where it failed). */
  readonly orderIds: (string | undefined)[];
}

/** The `p`-th percentile (0–100) of sorted values, nearest-rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/**
 * The i-th order of a load run: the demo accounts take turns, buys and sells alternate around a
 * price so that about half of the orders cross and trade.
 */
export function loadOrder(i: number, pair: string): { token: string; body: Record<string, string> } {
  const account = DEMO_ACCOUNTS[i % DEMO_ACCOUNTS.length]!;
  const side = i % 2 === 0 ? 'buy' : 'sell';
  const base = pair.startsWith('BTC') ? 30_000 : 2_000;
  // Prices in a narrow band of whole quote units, so buys and sells overlap.
  const offset = ((i * 7919) % 21) - 10;
  const price = String(base + offset);
  const amount = `0.0${String(1 + ((i * 31) % 9))}`;
  return { token: account.token, body: { pair, side, type: 'limit', amount, price } };
}

function drawBar(out: LoadOptions['progress'], done: number, total: number, last: { tenth: number }): void {
  if (out === undefined) return;
  if (out.isTTY === true) {
    const width = 30;
    const filled = Math.round((done / total) * width);
    out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    if (done === total) out.write('\n');
    return;
  }
  const tenth = Math.floor((done / total) * 10);
  if (tenth > last.tenth) {
    last.tenth = tenth;
    out.write(`[${'#'.repeat(tenth)}${'.'.repeat(10 - tenth)}] ${done}/${total}\n`);
  }
}

/** Sends `orders` orders with at most `concurrency` requests in flight. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = options.url.replace(/\/$/, '');
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const orderIds: (string | undefined)[] = Array.from({ length: options.orders }, () => undefined);
  let next = 0;
  let done = 0;
  const last = { tenth: 0 };
  const endpoint = options.async ? `${url}/orders?async=1` : `${url}/orders`;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= options.orders) return;
      const { token, body } = loadOrder(i, options.pair);
      const t0 = performance.now();
      try {
        const response = await fetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${token}`,
            'x-correlation-id': `load-${i}`,
          },
          body: JSON.stringify(body),
        });
        const data = (await response.json()) as { orderId?: string };
        if (response.ok && typeof data.orderId === 'string') orderIds[i] = data.orderId;
        else failures[String(response.status)] = (failures[String(response.status)] ?? 0) + 1;
      } catch (error) {
        const key = error instanceof Error ? error.name : 'error';
        failures[key] = (failures[key] ?? 0) + 1;
      }
      latencies.push(performance.now() - t0);
      done += 1;
      drawBar(options.progress, done, options.orders, last);
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(options.concurrency, options.orders)) }, worker),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  return {
    sent: options.orders,
    ok: options.orders - failed,
    failed,
    failures,
    seconds,
    perSecond: seconds > 0 ? options.orders / seconds : 0,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    orderIds,
  };
}

export function formatLoadResult(result: LoadResult): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const lines = [
    `orders:     ${result.sent} (${result.ok} ok, ${result.failed} failed${result.failed > 0 ? ` ${JSON.stringify(result.failures)}` : ''})`,
    `time:       ${result.seconds.toFixed(2)} s`,
    `throughput: ${result.perSecond.toFixed(1)} orders/s`,
    `latency:    p50 ${ms(result.p50)}, p95 ${ms(result.p95)}, p99 ${ms(result.p99)}`,
  ];
  return lines.join('\n');
}

// GET /metrics scraped after scripted work, and the page's panel computed from the same metrics.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExchangeApp, type ExchangeApp } from '../src/app';
import { demoConfigFromEnv } from '../src/config/domain';
import type { OrderView } from '../src/domain/views';
import { buildServer } from '../src/http/server';
import { type MetricsPanel, startTelemetry, type Telemetry } from '../src/telemetry';
import { alice, bob, eventually } from './helpers';

let telemetry: Telemetry;
let app: ExchangeApp;
let server: Awaited<ReturnType<typeof buildServer>>;

beforeAll(async () => {
  telemetry = startTelemetry({}, 'test');
  const config = demoConfigFromEnv({ ORDER_BOOK_TTL: '60', LOG_LEVEL: 'off' });
  const instrumentation = telemetry.instrumentation('memory');
  app = await createExchangeApp(config, instrumentation === undefined ? {} : { instrumentation });
  telemetry.observeQueues(app.adapters.transport, ['commands', 'events'], 'exchange-workers');
  await app.seed();
  await app.cqrs.startWorker({ group: 'exchange-workers', concurrency: 2 });
  server = await buildServer(app, { telemetry });
  await server.ready();
});

afterAll(async () => {
  await server.close();
  await app.close();
  await telemetry.shutdown();
});

/** The value of the first sample line of `name` whose labels include every `label="value"` given. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

it('serves the guide’s metrics as Prometheus text after scripted work, and the panel agrees', async () => {
  const place = (body: Record<string, unknown>, headers = alice, url = '/orders') =>
    server.inject({ method: 'POST', url, headers, payload: body });
  expect(
    (await place({ pair: 'BTC/USD', side: 'sell', type: 'limit', amount: '1', price: '30000' }, bob))
      .statusCode,
  ).toBe(201);
  // askCached: a miss, then two hits.
  for (let i = 0; i < 3; i++) await server.inject({ url: '/orderbook/BTC/USD?depth=5' });
  // A rejected cancel: a failing command.
  expect(
    (await server.inject({ method: 'DELETE', url: '/orders/no-such-order', headers: alice })).statusCode,
  ).toBe(404);
  // An async order, handled by the worker.
  const accepted = await place(
    { pair: 'BTC/USD', side: 'buy', type: 'limit', amount: '0.5', price: '29000' },
    alice,
    '/orders?async=1',
  );
  expect(accepted.statusCode).toBe(202);
  const { orderId } = accepted.json<{ orderId: string }>();
  await eventually(async () => {
    const response = await server.inject({ url: `/orders/${orderId}`, headers: alice });
    return response.statusCode === 200 ? response.json<OrderView>() : undefined;
  });

  let text = '';
  await eventually(async () => {
    const scraped = await server.inject({ url: '/metrics' });
    expect(scraped.statusCode).toBe(200);
    expect(scraped.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    text = scraped.body;
    // The worker's handling ends after the order became visible; the depth is polled.
    return sample(text, 'messaging_process_duration_count', { messaging_destination_name: 'commands' }) ===
      1 && sample(text, 'finaegis_queue_depth', { messaging_destination_name: 'commands' }) === 0
      ? true
      : undefined;
  });
  expect(text).toContain('# TYPE finaegis_command_duration histogram');
  expect(
    sample(text, 'finaegis_command_duration_count', {
      finaegis_message_type: 'exchange.PlaceOrder',
      finaegis_outcome: 'success',
    }),
  ).toBe(2);
  expect(sample(text, 'finaegis_query_cache_calls_total', { finaegis_cache_result: 'hit' })).toBe(2);
  expect(sample(text, 'finaegis_query_cache_calls_total', { finaegis_cache_result: 'miss' })).toBe(1);
  expect(
    sample(text, 'finaegis_errors_total', {
      finaegis_message_type: 'exchange.CancelOrder',
      error_type: 'CommandExecutionError',
    }),
  ).toBe(1);
  expect(
    sample(text, 'messaging_client_sent_messages_total', {
      messaging_system: 'memory',
      messaging_destination_name: 'commands',
    }),
  ).toBe(1);
  expect(
    sample(text, 'finaegis_message_lag_count', {
      messaging_destination_name: 'commands',
      messaging_consumer_group_name: 'exchange-workers',
    }),
  ).toBe(1);
  expect(
    sample(text, 'finaegis_queue_depth', {
      messaging_destination_name: 'events',
      messaging_consumer_group_name: 'exchange-workers',
    }),
  ).toBe(0);

  const panel = (await server.inject({ url: '/metrics/panel' })).json<MetricsPanel>();
  const stats = app.cqrs.queryBus.cacheStats();
  expect(panel.cacheCalls).toEqual({ hit: stats.hits, miss: stats.misses, coalesced: stats.coalesced });
  expect(panel.cacheHitRate).toBeCloseTo(stats.hits / (stats.hits + stats.misses + stats.coalesced));
  expect(panel.commandSeconds.count).toBeGreaterThanOrEqual(3);
  expect(panel.commandSeconds.p50).toBeGreaterThan(0);
  expect(panel.commandSeconds.p95!).toBeGreaterThanOrEqual(panel.commandSeconds.p50!);
  expect(panel.messageLagSeconds.count).toBe(1);
  expect(panel.queueDepth).toEqual({ commands: 0, events: 0 });
  expect(panel.errors).toBe(1);
  expect(panel.errorRate).toBeGreaterThan(0);
  expect(panel.errorRate).toBeLessThan(1);

  const page = await server.inject({ url: '/' });
  expect(page.body).toContain('id="monitoring"');
  expect(page.body).toContain("fetch('/metrics/panel')");
});

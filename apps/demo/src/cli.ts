import { parseArgs } from 'node:util';
import { ConfigError, shutdownOnSignals } from '@finaegis/core';
import type { FastifyInstance } from 'fastify';
import { createExchangeApp, type ExchangeApp } from './app';
import { type DemoConfig, demoConfigFromEnv, MARKETS } from './config/domain';
import { buildServer } from './http/server';
import { formatLoadResult, runLoad } from './load';
import { startTelemetry, type Telemetry } from './telemetry';

const USAGE = `Usage: finaegis-demo [command] [options]

Commands:
  start (default)  API, web page and a worker in one process, seeded demo accounts
  api              the HTTP API and web page only (async orders wait for a worker)
  worker           a worker: handles async commands and events (run any number)
  load             sends orders to a running API and prints throughput and latency
                   --orders N (1000) --concurrency C (20) --url URL (http://127.0.0.1:$PORT)
                   --pair BTC/USD --async (through POST /orders?async=1)

Configuration (environment): QUEUE_CONNECTION=memory|bullmq|kafka, CACHE_DRIVER=memory|redis,
EVENT_STORE=memory|postgres, DOMAIN_ENABLE_HANDLERS, REDIS_URL, KAFKA_BROKERS, DATABASE_URL,
the adapters' settings (KAFKA_CLIENT_ID, KAFKA_SSL, KAFKA_SASL_*, DATABASE_POOL_SIZE, ...: the table
in @finaegis/core's README), SHUTDOWN_TIMEOUT (25 s for a graceful stop on SIGTERM/SIGINT),
PORT (3000), HOST (127.0.0.1), WORKER_CONCURRENCY (4), ORDER_BOOK_TTL (5 s), EXCHANGE_STREAM, EVENT_STORE_SCHEMA,
LOG_LEVEL=debug|info|warn|error|off (warn; info prints the guide's "Command dispatched" lines;
unset: DOMAIN_LOG_LEVEL, then warn).
Telemetry (OpenTelemetry): on by default (GET /metrics, the page's monitoring panel);
OTEL_EXPORTER_OTLP_ENDPOINT exports traces and metrics over OTLP/HTTP; OTEL_SERVICE_NAME
(finaegis-demo-<command>); OTEL_SDK_DISABLED=true turns it off.
`;

/** The consumer group of the demo's workers (queue depth is reported for it). */
const WORKER_GROUP = 'exchange-workers';

interface Running {
  readonly app: ExchangeApp;
  readonly telemetry: Telemetry;
  readonly server?: FastifyInstance;
  readonly url?: string;
}

async function boot(
  config: DemoConfig,
  parts: { api: boolean; worker: boolean },
  role: string,
): Promise<Running> {
  // The SDK first, so that the buses' instrumentation finds it (OTEL_SDK_DISABLED=true: none).
  const telemetry = startTelemetry(process.env, role);
  const instrumentation = telemetry.instrumentation(config.domain.queueConnection);
  // Core's console logger at `config.domain.logLevel`: core filters the lines, and adds the
  // logging middleware (the guide's "Command dispatched" lines) only at info or debug.
  const app = await createExchangeApp(config, {
    relay: parts.api,
    ...(instrumentation === undefined ? {} : { instrumentation }),
  });
  try {
    telemetry.observeQueues(
      app.adapters.transport,
      [config.domain.commandBus.asyncQueue, config.domain.eventBus.asyncQueue],
      WORKER_GROUP,
    );
    if (parts.api) await app.seed();
    if (parts.worker) {
      await app.cqrs.startWorker({ group: WORKER_GROUP, concurrency: config.workerConcurrency });
    }
    if (!parts.api) return { app, telemetry };
    const server = await buildServer(app, { telemetry });
    const address = await server.listen({ port: config.port, host: config.host });
    const url = `${address.replace('[::1]', 'localhost')}/`;
    return { app, telemetry, server, url };
  } catch (error) {
    await app.close();
    await telemetry.shutdown();
    throw error;
  }
}

/**
 * On SIGTERM or SIGINT: stop taking requests, then the app's graceful shutdown (stop consuming,
 * finish handlers in flight, flush the outbox relay, close the adapters), then telemetry; exit 0
 * when it all finished within SHUTDOWN_TIMEOUT.
 */
function onShutdown(running: Running): void {
  shutdownOnSignals(running.app.cqrs, {
    before: async () => {
      process.stderr.write('stopping\n');
      await running.server?.close();
      await running.app.stopProjectors();
    },
    after: async () => {
      // Its scheduler and pool are its own; nothing of the app's uses them once workers stopped.
      await running.app.withdrawals.close();
      await running.telemetry.shutdown();
    },
  });
}

function describe(config: DemoConfig): string {
  const d = config.domain;
  return `queue ${d.queueConnection}, cache ${d.cacheDriver}, event store ${d.eventStore}`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      orders: { type: 'string' },
      concurrency: { type: 'string' },
      url: { type: 'string' },
      pair: { type: 'string' },
      async: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'start';
  if (values.help === true || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = demoConfigFromEnv();

  switch (command) {
    case 'start': {
      const running = await boot(config, { api: true, worker: true }, 'start');
      onShutdown(running);
      process.stdout.write(`FinAegis exchange demo (${describe(config)})\n`);
      process.stdout.write(
        `Open ${running.url} — demo tokens: demo-alice, demo-bob, demo-carol. Ctrl+C stops.\n`,
      );
      return -1;
    }
    case 'api': {
      const running = await boot(config, { api: true, worker: false }, 'api');
      onShutdown(running);
      if (config.domain.queueConnection === 'memory') {
        running.app.cqrs.logger.warn(
          'QUEUE_CONNECTION=memory: async orders are only handled by a worker in this process; use start',
        );
      }
      process.stdout.write(`FinAegis exchange API listening on ${running.url} (${describe(config)})\n`);
      return -1;
    }
    case 'worker': {
      const running = await boot(config, { api: false, worker: true }, 'worker');
      onShutdown(running);
      process.stdout.write(`FinAegis exchange worker ready (pid ${process.pid}, ${describe(config)})\n`);
      return -1;
    }
    case 'load': {
      const orders = Number(values.orders ?? '1000');
      const concurrency = Number(values.concurrency ?? '20');
      if (!Number.isInteger(orders) || orders < 1)
        throw new ConfigError('--orders', values.orders, 'a positive integer');
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000)
        throw new ConfigError('--concurrency', values.concurrency, 'an integer from 1 to 1000');
      const pair = values.pair ?? 'BTC/USD';
      if (!MARKETS.some((m) => m.pair === pair))
        throw new ConfigError('--pair', pair, MARKETS.map((m) => m.pair).join(', '));
      const url = values.url ?? `http://127.0.0.1:${config.port}`;
      const result = await runLoad({
        url,
        orders,
        concurrency,
        pair,
        async: values.async === true,
        progress: process.stderr,
      });
      process.stdout.write(`${formatLoadResult(result)}\n`);
      return result.failed === 0 ? 0 : 1;
    }
    default:
      process.stderr.write(`Unknown command ${JSON.stringify(command)}.\n\n${USAGE}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`finaegis-demo: ${message}\n`);
    process.exit(1);
  },
);

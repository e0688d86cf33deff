import { ConfigError, configFromEnv, type DomainConfig, LOG_LEVELS, type LogLevel } from '@finaegis/core';

/**
 * The guide's `config/domain.php`, for the exchange demo: the bus settings come from
 * `configFromEnv()` (DOMAIN_ENABLE_HANDLERS, QUEUE_CONNECTION, CACHE_DRIVER, EVENT_STORE, REDIS_URL,
 * KAFKA_BROKERS, DATABASE_URL), the exchange's own settings are below.
 */
export interface DemoConfig {
  /** The bus settings; `logLevel` is the demo's one log level (see `logLevelFromEnv`). */
  readonly domain: DomainConfig;
  /** HTTP port of the API and web page (PORT, default 3000). */
  readonly port: number;
  /** HTTP host (HOST, default 127.0.0.1). */
  readonly host: string;
  /** Messages a worker handles at once per channel (WORKER_CONCURRENCY, default 4). */
  readonly workerConcurrency: number;
  /** Seconds the cached order book lives when no event invalidates it first. */
  readonly orderBookTtl: number;
  /** Event stream holding the exchange (EXCHANGE_STREAM, default `exchange-main`). */
  readonly stream: string;
  /** PostgreSQL schema of the event store (EVENT_STORE_SCHEMA, default `finaegis`). */
  readonly schema: string;
  /**
   * On PostgreSQL, whether each decision takes the stream's write lock (EXCHANGE_STREAM_LOCK=on|off,
   * default on). `off` leaves optimistic retries alone, for comparison (`pnpm --filter
   * finaegis-demo scale`).
   */
  readonly streamLock: boolean;
  /**
   * Fault injection for tests (DEMO_FAULT_KILL_AFTER_APPEND=N): the process SIGKILLs itself after
   * its N-th stored decision, before publishing its events. 0 (default): off.
   */
  readonly faultKillAfterAppend: number;
}

export interface MarketConfig {
  readonly pair: string;
  readonly base: string;
  readonly quote: string;
  /** Smallest order amount, in the base asset. */
  readonly minAmount: string;
}

export const ASSETS = ['BTC', 'ETH', 'USD'] as const;

export const MARKETS: readonly MarketConfig[] = [
  { pair: 'BTC/USD', base: 'BTC', quote: 'USD', minAmount: '0.0001' },
  { pair: 'ETH/USD', base: 'ETH', quote: 'USD', minAmount: '0.001' },
];

/**
 * What one order or deposit may be, as decimal strings. Checked when a request arrives (422 naming
 * the limit) and again by the exchange for commands that come from a queue (a rejected order).
 *
 * Why these values: every amount an event carries is an order's amount, price or cost (at most
 * `maxNotional`; a market buy locks at most that much), a trade's share of one, or a deposit, so
 * each has at most 14 whole digits and 8 decimals. The event store keeps them as JSON strings and
 * the exchange as bigints (neither overflows); they also fit a PostgreSQL `numeric(23,8)` column and
 * the 15 whole digits a request may have.
 */
export const LIMITS = {
  /** Largest order amount, in the base asset. */
  maxAmount: '1000000000',
  /** Largest limit price, in the quote asset per unit of the base asset. */
  maxPrice: '1000000000',
  /** Largest amount × price of an order (and the most a market buy locks), in the quote asset. */
  maxNotional: '1000000000000',
  /** Largest holding (available + locked) of one asset an account may reach by a deposit. */
  maxBalance: '10000000000000',
} as const;

/** Maker and taker fees as fractions, taken from what each side receives. */
export const FEES = { maker: '0.001', taker: '0.002' } as const;

/** Demo bearer tokens and the accounts they stand for (identity never comes from a body). */
export const DEMO_ACCOUNTS: ReadonlyArray<{ token: string; accountId: string; name: string }> = [
  { token: 'demo-alice', accountId: 'acct-alice', name: 'Alice' },
  { token: 'demo-bob', accountId: 'acct-bob', name: 'Bob' },
  { token: 'demo-carol', accountId: 'acct-carol', name: 'Carol' },
];

/** What every seeded account starts with. */
export const SEED_BALANCES: Readonly<Record<string, string>> = { USD: '1000000', BTC: '50', ETH: '500' };

function integerEnv(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, raw, `an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * The demo's log level: `LOG_LEVEL`, else core's `DOMAIN_LOG_LEVEL`, else `warn`. It is one level
 * for the demo's own lines and the buses' (`createCqrs()` filters by `config.logLevel` and adds the
 * line-per-operation logging middleware only at `info` or `debug`), so the demo never pays for a
 * middleware that writes into a muted channel.
 */
function logLevelFromEnv(env: Readonly<Record<string, string | undefined>>): LogLevel {
  for (const name of ['LOG_LEVEL', 'DOMAIN_LOG_LEVEL'] as const) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const level = raw.trim().toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(level)) {
      throw new ConfigError(name, raw, `one of ${LOG_LEVELS.join(', ')}`);
    }
    return level as LogLevel;
  }
  return 'warn';
}

/**
 * Reads the whole demo configuration from the environment.
 * @throws ConfigError naming the variable, its value and what is allowed.
 */
export function demoConfigFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): DemoConfig {
  const domain = configFromEnv({ ...env, DOMAIN_LOG_LEVEL: logLevelFromEnv(env) });
  const stream = env.EXCHANGE_STREAM?.trim() || 'exchange-main';
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(stream)) {
    throw new ConfigError('EXCHANGE_STREAM', stream, 'a stream name of letters, digits, ".", "_" or "-"');
  }
  const schema = env.EVENT_STORE_SCHEMA?.trim() || 'finaegis';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError('EVENT_STORE_SCHEMA', schema, 'a lower-case SQL identifier');
  }
  const streamLock = env.EXCHANGE_STREAM_LOCK?.trim().toLowerCase() || 'on';
  if (streamLock !== 'on' && streamLock !== 'off') {
    throw new ConfigError('EXCHANGE_STREAM_LOCK', streamLock, 'on or off');
  }
  return {
    domain,
    schema,
    port: integerEnv(env, 'PORT', 3000, 0, 65_535),
    host: env.HOST?.trim() || '127.0.0.1',
    workerConcurrency: integerEnv(env, 'WORKER_CONCURRENCY', 4, 1, 64),
    orderBookTtl: integerEnv(env, 'ORDER_BOOK_TTL', 5, 1, 3600),
    stream,
    streamLock: streamLock === 'on',
    faultKillAfterAppend: integerEnv(env, 'DEMO_FAULT_KILL_AFTER_APPEND', 0, 0, 1_000_000),
  };
}

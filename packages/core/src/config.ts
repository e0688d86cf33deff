import {
  type AdapterSettings,
  type AdapterSettingsInput,
  adapterValuesFromEnv,
  adapterVariableOf,
  defaultAdapterSettings,
  defineAdapterSettings,
  envBoolean,
} from './compose/settings';
import { ConfigError } from './errors/config-error';

/**
 * The guide's `config/domain.php` as a typed object, plus where the adapters are. Durations are in
 * seconds, as in the guide.
 */
export interface DomainConfig {
  /** `false` is the guide's demo mode: no handler is registered and dispatching says so. */
  readonly enableHandlers: boolean;
  readonly commandBus: {
    /** Channel (queue/topic) of async commands. */
    readonly asyncQueue: string;
    /** Seconds a `dispatchTransaction` may run before it is rolled back. */
    readonly transactionTimeout: number;
  };
  readonly queryBus: {
    /** First part of every cache key. */
    readonly cachePrefix: string;
    /** Seconds a cached result lives when neither the caller nor the query says otherwise. */
    readonly defaultTtl: number;
  };
  readonly eventBus: {
    /** Channel (queue/topic) of async events. */
    readonly asyncQueue: string;
    /** Subscriber priorities run from this value (first) down to 0 (last). */
    readonly priorityLevels: number;
  };
  readonly queueConnection: 'memory' | 'bullmq' | 'kafka';
  readonly cacheDriver: 'memory' | 'redis';
  readonly eventStore: 'memory' | 'postgres';
  readonly redisUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly databaseUrl: string;
  /**
   * What `createCqrs()` logs: `info` (default) writes the guide's lines for every command, query
   * and event, and failures; `warn` and `error` keep only those levels; `debug` adds debug lines;
   * `off` logs nothing. Env: `DOMAIN_LOG_LEVEL`.
   */
  readonly logLevel: LogLevel;
  /**
   * The adapters' own settings (Kafka client id, SASL/TLS, prefixes, pool size, ...), read by the
   * drivers `composeCqrs()` uses. Env: see `ADAPTER_ENV`.
   */
  readonly adapters: AdapterSettings;
  /**
   * Seconds a graceful shutdown (`app.shutdown()`, SIGTERM/SIGINT with `shutdownOnSignals`) may
   * take: handlers in flight and the outbox flush get this long before adapters are closed anyway.
   * Env: `SHUTDOWN_TIMEOUT`.
   */
  readonly shutdownTimeout: number;
}

/** The levels of `DomainConfig.logLevel`, most verbose first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'off'] as const;
/** One of `LOG_LEVELS`: what `DomainConfig.logLevel` and `DOMAIN_LOG_LEVEL` accept. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A partial config; nested sections may be partial too. */
export type DomainConfigInput = {
  readonly [K in Exclude<keyof DomainConfig, 'adapters'>]?: DomainConfig[K] extends readonly string[]
    ? DomainConfig[K]
    : DomainConfig[K] extends object
      ? Partial<DomainConfig[K]>
      : DomainConfig[K];
} & {
  readonly adapters?: AdapterSettingsInput;
};

/** The defaults: the guide's `config/domain.php`, on the embedded (memory) adapters. */
export const defaultConfig: DomainConfig = Object.freeze({
  enableHandlers: true,
  commandBus: Object.freeze({ asyncQueue: 'commands', transactionTimeout: 30 }),
  queryBus: Object.freeze({ cachePrefix: 'query', defaultTtl: 3600 }),
  eventBus: Object.freeze({ asyncQueue: 'events', priorityLevels: 10 }),
  queueConnection: 'memory',
  cacheDriver: 'memory',
  eventStore: 'memory',
  redisUrl: 'redis://127.0.0.1:6379',
  kafkaBrokers: Object.freeze(['127.0.0.1:9092']),
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
  logLevel: 'info',
  adapters: defaultAdapterSettings,
  shutdownTimeout: 25,
}) as DomainConfig;

const CHANNEL_NAME = /^[A-Za-z0-9._-]{1,200}$/;

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(key, value, `one of ${allowed.join(', ')}`);
}

function positiveNumber(key: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  throw new ConfigError(key, value, 'a number greater than 0');
}

function channel(key: string, value: unknown): string {
  if (typeof value === 'string' && CHANNEL_NAME.test(value)) return value;
  throw new ConfigError(key, value, 'a channel name of 1-200 letters, digits, ".", "_" or "-"');
}

function nonEmpty(key: string, value: unknown): string {
  if (typeof value === 'string' && value.trim() !== '') return value;
  throw new ConfigError(key, value, 'a non-empty string');
}

function url(key: string, value: unknown, protocols: readonly string[]): string {
  const text = nonEmpty(key, value);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ConfigError(key, value, `a URL (${protocols.join(' or ')})`);
  }
  if (!protocols.includes(parsed.protocol))
    throw new ConfigError(key, value, `a URL (${protocols.join(' or ')})`);
  return text;
}

/**
 * Completes a partial config with the defaults and checks every value.
 * @throws ConfigError naming the key, the bad value and what is allowed.
 */
export function defineConfig(input: DomainConfigInput = {}): DomainConfig {
  const known = new Set(Object.keys(defaultConfig));
  for (const key of Object.keys(input)) {
    if (!known.has(key))
      throw new ConfigError(
        key,
        (input as Record<string, unknown>)[key],
        `one of the keys ${[...known].join(', ')}`,
      );
  }
  const commandBus = { ...defaultConfig.commandBus, ...input.commandBus };
  const queryBus = { ...defaultConfig.queryBus, ...input.queryBus };
  const eventBus = { ...defaultConfig.eventBus, ...input.eventBus };
  if (typeof (input.enableHandlers ?? true) !== 'boolean')
    throw new ConfigError('enableHandlers', input.enableHandlers, 'true or false');
  const priorityLevels = eventBus.priorityLevels;
  if (!Number.isInteger(priorityLevels) || priorityLevels < 1 || priorityLevels > 1000) {
    throw new ConfigError('eventBus.priorityLevels', priorityLevels, 'an integer from 1 to 1000');
  }
  const brokers = input.kafkaBrokers ?? defaultConfig.kafkaBrokers;
  if (
    !Array.isArray(brokers) ||
    brokers.length === 0 ||
    !brokers.every((b) => typeof b === 'string' && /^[^\s:]+:\d{1,5}$/.test(b))
  ) {
    throw new ConfigError('kafkaBrokers', brokers, 'a list of host:port');
  }
  const config: DomainConfig = {
    enableHandlers: input.enableHandlers ?? defaultConfig.enableHandlers,
    commandBus: {
      asyncQueue: channel('commandBus.asyncQueue', commandBus.asyncQueue),
      transactionTimeout: positiveNumber('commandBus.transactionTimeout', commandBus.transactionTimeout),
    },
    queryBus: {
      cachePrefix: nonEmpty('queryBus.cachePrefix', queryBus.cachePrefix),
      defaultTtl: positiveNumber('queryBus.defaultTtl', queryBus.defaultTtl),
    },
    eventBus: { asyncQueue: channel('eventBus.asyncQueue', eventBus.asyncQueue), priorityLevels },
    queueConnection: oneOf('queueConnection', input.queueConnection ?? defaultConfig.queueConnection, [
      'memory',
      'bullmq',
      'kafka',
    ]),
    cacheDriver: oneOf('cacheDriver', input.cacheDriver ?? defaultConfig.cacheDriver, ['memory', 'redis']),
    eventStore: oneOf('eventStore', input.eventStore ?? defaultConfig.eventStore, ['memory', 'postgres']),
    redisUrl: url('redisUrl', input.redisUrl ?? defaultConfig.redisUrl, ['redis:', 'rediss:']),
    kafkaBrokers: Object.freeze([...brokers]),
    databaseUrl: url('databaseUrl', input.databaseUrl ?? defaultConfig.databaseUrl, [
      'postgres:',
      'postgresql:',
    ]),
    logLevel: oneOf('logLevel', input.logLevel ?? defaultConfig.logLevel, LOG_LEVELS),
    adapters: defineAdapterSettings(input.adapters),
    shutdownTimeout: positiveNumber(
      'shutdownTimeout',
      input.shutdownTimeout ?? defaultConfig.shutdownTimeout,
    ),
  };
  return config;
}

/** Environment variables read by `configFromEnv`, and the config key each sets. */
export const ENV_KEYS = {
  DOMAIN_ENABLE_HANDLERS: 'enableHandlers',
  QUEUE_CONNECTION: 'queueConnection',
  CACHE_DRIVER: 'cacheDriver',
  EVENT_STORE: 'eventStore',
  REDIS_URL: 'redisUrl',
  KAFKA_BROKERS: 'kafkaBrokers',
  DATABASE_URL: 'databaseUrl',
  DOMAIN_LOG_LEVEL: 'logLevel',
} as const;

/**
 * The config from environment variables (`DOMAIN_ENABLE_HANDLERS`, `QUEUE_CONNECTION`,
 * `CACHE_DRIVER`, `EVENT_STORE`, `REDIS_URL`, `KAFKA_BROKERS` (comma separated), `DATABASE_URL`,
 * `DOMAIN_LOG_LEVEL`, and the adapters' variables of `ADAPTER_ENV`)
 * over `overrides` over the defaults. Empty variables count as unset. Errors name the variable.
 */
export function configFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: DomainConfigInput = {},
): DomainConfig {
  const fromEnv: Record<string, unknown> = {};
  const read = (name: keyof typeof ENV_KEYS): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const enable = read('DOMAIN_ENABLE_HANDLERS');
  if (enable !== undefined) fromEnv.enableHandlers = envBoolean('DOMAIN_ENABLE_HANDLERS', enable);
  const named = {
    QUEUE_CONNECTION: 'queueConnection',
    CACHE_DRIVER: 'cacheDriver',
    EVENT_STORE: 'eventStore',
    DOMAIN_LOG_LEVEL: 'logLevel',
  } as const;
  for (const [name, key] of Object.entries(named)) {
    const value = read(name as keyof typeof named);
    if (value !== undefined) fromEnv[key] = value.toLowerCase();
  }
  const redisUrl = read('REDIS_URL');
  if (redisUrl !== undefined) fromEnv.redisUrl = redisUrl;
  const databaseUrl = read('DATABASE_URL');
  if (databaseUrl !== undefined) fromEnv.databaseUrl = databaseUrl;
  const brokers = read('KAFKA_BROKERS');
  if (brokers !== undefined)
    fromEnv.kafkaBrokers = brokers
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
  const adapterValues = adapterValuesFromEnv(env);
  if (adapterValues.shutdownTimeout !== undefined) fromEnv.shutdownTimeout = adapterValues.shutdownTimeout;
  const fromEnvAdapters = (adapterValues.adapters ?? {}) as Record<string, Record<string, unknown>>;
  const adapters: Record<string, unknown> = { ...overrides.adapters };
  for (const [section, values] of Object.entries(fromEnvAdapters)) {
    const given = (overrides.adapters as Record<string, Record<string, unknown>> | undefined)?.[section];
    const sasl = values.sasl === undefined ? {} : { sasl: { ...(given?.sasl as object), ...values.sasl } };
    adapters[section] = { ...given, ...values, ...sasl };
  }
  try {
    return defineConfig({ ...overrides, ...fromEnv, adapters: adapters as AdapterSettingsInput });
  } catch (error) {
    if (error instanceof ConfigError) {
      const adapterVariable = adapterVariableOf(error.key);
      if (adapterVariable !== undefined) {
        const allowed = error.message.split('expected ')[1] ?? 'a valid value';
        throw new ConfigError(adapterVariable, env[adapterVariable], allowed);
      }
      const variable = Object.entries(ENV_KEYS).find(([, key]) => key === error.key)?.[0];
      if (variable !== undefined && env[variable] !== undefined && env[variable]?.trim() !== '') {
        const allowed = error.message.split('expected ')[1] ?? 'a valid value';
        throw new ConfigError(variable, env[variable], allowed);
      }
    }
    throw error;
  }
}

import { ConfigError } from '../errors/config-error';

/**
 * The adapters' own settings, as `composeCqrs()` hands them to the drivers (`config.adapters`).
 * A field left `undefined` means the adapter's own default. Each has an environment variable (see
 * `ADAPTER_ENV`); the core README has the table of all of them.
 */
export interface AdapterSettings {
  readonly kafka: KafkaAdapterSettings;
  readonly bullmq: BullmqAdapterSettings;
  readonly cache: CacheAdapterSettings;
  readonly postgres: PostgresAdapterSettings;
}

/** SASL mechanisms the Kafka driver accepts. */
export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** What the Kafka driver builds its transport from (`KAFKA_*` variables). */
export interface KafkaAdapterSettings {
  /** kafkajs client id (in broker logs and quotas). Default `finaegis`. */
  readonly clientId: string;
  /** Prepended to channel names to make topic names. Default `''`. */
  readonly topicPrefix: string;
  /** Prepended to consumer group ids. Default: `topicPrefix`. */
  readonly groupIdPrefix?: string;
  /** Connect with TLS (the system's trusted CAs). Default `false`. */
  readonly ssl: boolean;
  /** SASL authentication; absent: none. */
  readonly sasl?: {
    readonly mechanism: (typeof KAFKA_SASL_MECHANISMS)[number];
    readonly username: string;
    readonly password: string;
  };
  /** How soon a dead consumer's partitions move to others, in ms. Default: the adapter's (6,000). */
  readonly sessionTimeoutMs?: number;
  /** How often a consumer tells the broker it is alive, in ms. Default: the adapter's (1,000). */
  readonly heartbeatIntervalMs?: number;
}

/** What the BullMQ driver builds its transport from (`BULLMQ_*` variables, `REDIS_URL`). */
export interface BullmqAdapterSettings {
  /** Prefix of every Redis key of the queues. Default `finaegis`. */
  readonly prefix: string;
  /** Lock of a job in flight, in ms: a crashed worker's job is handed out again after it. Default: the adapter's (6,000). */
  readonly lockDurationMs?: number;
  /** How often workers look for jobs whose lock expired, in ms. Default: the adapter's (1,500). */
  readonly stalledIntervalMs?: number;
}

/** What the Redis cache driver (`CACHE_DRIVER=redis`) builds its store from. */
export interface CacheAdapterSettings {
  /** Prefix of every key the Redis cache writes. Default `finaegis:`. */
  readonly keyPrefix: string;
}

/** What the PostgreSQL driver builds the event store, transactions, checkpoints and relay from. */
export interface PostgresAdapterSettings {
  /** Schema holding the event store, outbox and checkpoints. Default `finaegis`. */
  readonly schema: string;
  /** Connections in the one pool the stores, the transaction manager and the relay share. Default 10. */
  readonly poolSize: number;
  /** Apply pending migrations at start-up (safe when several processes start at once). Default `true`. */
  readonly migrate: boolean;
  /** Run an outbox relay in this process, moving committed async messages to the transport. Default `true`. */
  readonly relay: boolean;
}

/** A partial `AdapterSettings`: each section may be partial. */
export type AdapterSettingsInput = {
  readonly [K in keyof AdapterSettings]?: Partial<AdapterSettings[K]>;
};

/** The adapter settings used where neither the environment nor the caller gives one. */
export const defaultAdapterSettings: AdapterSettings = Object.freeze({
  kafka: Object.freeze({ clientId: 'finaegis', topicPrefix: '', ssl: false }),
  bullmq: Object.freeze({ prefix: 'finaegis' }),
  cache: Object.freeze({ keyPrefix: 'finaegis:' }),
  postgres: Object.freeze({ schema: 'finaegis', poolSize: 10, migrate: true, relay: true }),
});

/** How an environment variable's text becomes a value. */
export type EnvValueKind = 'text' | 'boolean' | 'integer' | 'seconds';

/** One row of `ADAPTER_ENV`: the config key a variable sets, and how its text is read. */
export interface EnvSetting {
  /** Dotted config key, e.g. `adapters.kafka.clientId`. */
  readonly key: string;
  readonly kind: EnvValueKind;
}

/**
 * Environment variables of the adapters (and of composition), beside the guide's in `ENV_KEYS`. A
 * new adapter setting is one row here, one field in its `…AdapterSettings`, and one line in the
 * driver that passes it on.
 */
export const ADAPTER_ENV = {
  KAFKA_CLIENT_ID: { key: 'adapters.kafka.clientId', kind: 'text' },
  KAFKA_TOPIC_PREFIX: { key: 'adapters.kafka.topicPrefix', kind: 'text' },
  KAFKA_GROUP_ID_PREFIX: { key: 'adapters.kafka.groupIdPrefix', kind: 'text' },
  KAFKA_SSL: { key: 'adapters.kafka.ssl', kind: 'boolean' },
  KAFKA_SASL_MECHANISM: { key: 'adapters.kafka.sasl.mechanism', kind: 'text' },
  KAFKA_SASL_USERNAME: { key: 'adapters.kafka.sasl.username', kind: 'text' },
  KAFKA_SASL_PASSWORD: { key: 'adapters.kafka.sasl.password', kind: 'text' },
  KAFKA_SESSION_TIMEOUT_MS: { key: 'adapters.kafka.sessionTimeoutMs', kind: 'integer' },
  KAFKA_HEARTBEAT_INTERVAL_MS: { key: 'adapters.kafka.heartbeatIntervalMs', kind: 'integer' },
  BULLMQ_PREFIX: { key: 'adapters.bullmq.prefix', kind: 'text' },
  BULLMQ_LOCK_DURATION_MS: { key: 'adapters.bullmq.lockDurationMs', kind: 'integer' },
  BULLMQ_STALLED_INTERVAL_MS: { key: 'adapters.bullmq.stalledIntervalMs', kind: 'integer' },
  CACHE_KEY_PREFIX: { key: 'adapters.cache.keyPrefix', kind: 'text' },
  EVENT_STORE_SCHEMA: { key: 'adapters.postgres.schema', kind: 'text' },
  DATABASE_POOL_SIZE: { key: 'adapters.postgres.poolSize', kind: 'integer' },
  DATABASE_MIGRATE: { key: 'adapters.postgres.migrate', kind: 'boolean' },
  OUTBOX_RELAY: { key: 'adapters.postgres.relay', kind: 'boolean' },
  SHUTDOWN_TIMEOUT: { key: 'shutdownTimeout', kind: 'seconds' },
} as const satisfies Record<string, EnvSetting>;

/** Reads a boolean variable the way `DOMAIN_ENABLE_HANDLERS` is read. */
export function envBoolean(name: string, value: string): boolean {
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
  if (['false', '0', 'no', 'off'].includes(normalized)) return false;
  throw new ConfigError(name, value, 'true or false (also 1/0, yes/no, on/off)');
}

/** Reads `ADAPTER_ENV`'s variables into a nested partial config object (unset and empty: left out). */
export function adapterValuesFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(ADAPTER_ENV) as [string, EnvSetting][]) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (setting.kind === 'boolean') value = envBoolean(name, raw);
    else if (setting.kind === 'integer' || setting.kind === 'seconds') {
      value = Number(raw);
      if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(value)) {
        throw new ConfigError(
          name,
          raw,
          setting.kind === 'integer' ? 'a whole number' : 'a number of seconds',
        );
      }
    }
    const path = setting.key.split('.');
    let target = values;
    for (const part of path.slice(0, -1)) {
      target[part] ??= {};
      target = target[part] as Record<string, unknown>;
    }
    target[path[path.length - 1] as string] = value;
  }
  return values;
}

/** The variable that sets a dotted config key, if one does. */
export function adapterVariableOf(key: string): string | undefined {
  return Object.entries(ADAPTER_ENV).find(([, setting]) => setting.key === key)?.[0];
}

function text(key: string, value: unknown, pattern: RegExp, allowed: string): string {
  if (typeof value === 'string' && pattern.test(value)) return value;
  throw new ConfigError(key, value, allowed);
}

function flag(key: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw new ConfigError(key, value, 'true or false');
}

function optionalInteger(key: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  throw new ConfigError(key, value, `an integer from ${min} to ${max}`);
}

const PREFIX = /^[A-Za-z0-9._-]{0,100}$/;
const PREFIX_TEXT = 'up to 100 letters, digits, ".", "_" or "-"';
const MS_MAX = 24 * 3600 * 1000;

function kafkaSettings(input: Partial<KafkaAdapterSettings> = {}): KafkaAdapterSettings {
  const merged = { ...defaultAdapterSettings.kafka, ...input };
  const key = (name: string) => `adapters.kafka.${name}`;
  const groupIdPrefix =
    merged.groupIdPrefix === undefined
      ? undefined
      : text(key('groupIdPrefix'), merged.groupIdPrefix, PREFIX, PREFIX_TEXT);
  const sessionTimeoutMs = optionalInteger(key('sessionTimeoutMs'), merged.sessionTimeoutMs, 1000, MS_MAX);
  const heartbeatIntervalMs = optionalInteger(
    key('heartbeatIntervalMs'),
    merged.heartbeatIntervalMs,
    100,
    MS_MAX,
  );
  if (heartbeatIntervalMs !== undefined && heartbeatIntervalMs >= (sessionTimeoutMs ?? 6_000)) {
    throw new ConfigError(
      key('heartbeatIntervalMs'),
      heartbeatIntervalMs,
      `less than the session timeout (${sessionTimeoutMs ?? 6_000} ms)`,
    );
  }
  let sasl: KafkaAdapterSettings['sasl'];
  if (merged.sasl !== undefined) {
    const given = merged.sasl as Partial<NonNullable<KafkaAdapterSettings['sasl']>>;
    const mechanism = given.mechanism?.toLowerCase();
    if (!KAFKA_SASL_MECHANISMS.includes(mechanism as never)) {
      throw new ConfigError(
        key('sasl.mechanism'),
        given.mechanism,
        `one of ${KAFKA_SASL_MECHANISMS.join(', ')}`,
      );
    }
    sasl = {
      mechanism: mechanism as (typeof KAFKA_SASL_MECHANISMS)[number],
      username: text(key('sasl.username'), given.username, /\S/, 'a user name when SASL is on'),
      password: text(key('sasl.password'), given.password, /./, 'a password when SASL is on'),
    };
  }
  return {
    clientId: text(
      key('clientId'),
      merged.clientId,
      /^[A-Za-z0-9._-]{1,200}$/,
      'a client id of letters, digits, ".", "_" or "-"',
    ),
    topicPrefix: text(key('topicPrefix'), merged.topicPrefix, PREFIX, PREFIX_TEXT),
    ...(groupIdPrefix === undefined ? {} : { groupIdPrefix }),
    ssl: flag(key('ssl'), merged.ssl),
    ...(sasl === undefined ? {} : { sasl }),
    ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
  };
}

function bullmqSettings(input: Partial<BullmqAdapterSettings> = {}): BullmqAdapterSettings {
  const merged = { ...defaultAdapterSettings.bullmq, ...input };
  const lockDurationMs = optionalInteger(
    'adapters.bullmq.lockDurationMs',
    merged.lockDurationMs,
    1000,
    MS_MAX,
  );
  const stalledIntervalMs = optionalInteger(
    'adapters.bullmq.stalledIntervalMs',
    merged.stalledIntervalMs,
    1000,
    MS_MAX,
  );
  return {
    prefix: text(
      'adapters.bullmq.prefix',
      merged.prefix,
      /^[A-Za-z0-9._{}-]{1,100}$/,
      'a prefix without ":" (1-100 characters)',
    ),
    ...(lockDurationMs === undefined ? {} : { lockDurationMs }),
    ...(stalledIntervalMs === undefined ? {} : { stalledIntervalMs }),
  };
}

function postgresSettings(input: Partial<PostgresAdapterSettings> = {}): PostgresAdapterSettings {
  const merged = { ...defaultAdapterSettings.postgres, ...input };
  const poolSize = optionalInteger('adapters.postgres.poolSize', merged.poolSize, 1, 1000) as number;
  return {
    schema: text(
      'adapters.postgres.schema',
      merged.schema,
      /^[a-z_][a-z0-9_]{0,62}$/,
      'a lower-case SQL identifier',
    ),
    poolSize,
    migrate: flag('adapters.postgres.migrate', merged.migrate),
    relay: flag('adapters.postgres.relay', merged.relay),
  };
}

/**
 * Completes partial adapter settings with the defaults and checks every value.
 * @throws ConfigError naming the key (`adapters.<section>.<name>`), the value and what is allowed.
 */
export function defineAdapterSettings(input: AdapterSettingsInput = {}): AdapterSettings {
  const known = Object.keys(defaultAdapterSettings);
  for (const section of Object.keys(input)) {
    if (!known.includes(section)) {
      throw new ConfigError(
        `adapters.${section}`,
        (input as Record<string, unknown>)[section],
        `one of the sections ${known.join(', ')}`,
      );
    }
  }
  const cache = { ...defaultAdapterSettings.cache, ...input.cache };
  return Object.freeze({
    kafka: Object.freeze(kafkaSettings(input.kafka)),
    bullmq: Object.freeze(bullmqSettings(input.bullmq)),
    cache: Object.freeze({
      keyPrefix: text(
        'adapters.cache.keyPrefix',
        cache.keyPrefix,
        /^[^{}\s]{0,100}$/,
        'up to 100 characters, no "{", "}" or spaces',
      ),
    }),
    postgres: Object.freeze(postgresSettings(input.postgres)),
  });
}

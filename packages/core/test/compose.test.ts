import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ADAPTER_ENV,
  type CheckpointStore,
  ConfigError,
  composeCqrs,
  configFromEnv,
  type Driver,
  defineConfig,
  ENV_KEYS,
  type EventStore,
  type HealthCheck,
  type Persistence,
  type Relay,
  silentLogger,
  type TransactionManager,
} from '@finaegis/core';
import { describe, expect, it, test } from 'vitest';
import { FakeTransactionManager, MapCache, memoryLogger, RecordingTransport } from './fakes';

describe('adapter settings from the environment', () => {
  test('the KAFKA_, BULLMQ_, CACHE_, DATABASE_ and OUTBOX_ variables land in config.adapters', () => {
    const config = configFromEnv({
      KAFKA_CLIENT_ID: 'billing',
      KAFKA_TOPIC_PREFIX: 'prod.',
      KAFKA_SSL: 'yes',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 's3cret',
      KAFKA_SESSION_TIMEOUT_MS: '45000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '5000',
      BULLMQ_PREFIX: 'billing',
      BULLMQ_LOCK_DURATION_MS: '60000',
      BULLMQ_STALLED_INTERVAL_MS: '15000',
      CACHE_KEY_PREFIX: 'billing:',
      EVENT_STORE_SCHEMA: 'billing',
      DATABASE_POOL_SIZE: '25',
      DATABASE_MIGRATE: 'false',
      OUTBOX_RELAY: 'off',
      SHUTDOWN_TIMEOUT: '12.5',
    });
    expect(config.adapters).toEqual({
      kafka: {
        clientId: 'billing',
        topicPrefix: 'prod.',
        ssl: true,
        sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 's3cret' },
        sessionTimeoutMs: 45_000,
        heartbeatIntervalMs: 5_000,
      },
      bullmq: { prefix: 'billing', lockDurationMs: 60_000, stalledIntervalMs: 15_000 },
      cache: { keyPrefix: 'billing:' },
      postgres: { schema: 'billing', poolSize: 25, migrate: false, relay: false },
    });
    expect(config.shutdownTimeout).toBe(12.5);
  });

  test('unset variables leave the defaults, and the adapters their own', () => {
    expect(configFromEnv({}).adapters).toEqual({
      kafka: { clientId: 'finaegis', topicPrefix: '', ssl: false },
      bullmq: { prefix: 'finaegis' },
      cache: { keyPrefix: 'finaegis:' },
      postgres: { schema: 'finaegis', poolSize: 10, migrate: true, relay: true },
    });
  });

  test('the environment wins over overrides, which win over the defaults', () => {
    const config = configFromEnv(
      { KAFKA_CLIENT_ID: 'from-env' },
      { adapters: { kafka: { clientId: 'from-code', topicPrefix: 'code.' } } },
    );
    expect(config.adapters.kafka).toMatchObject({ clientId: 'from-env', topicPrefix: 'code.' });
  });

  test.each([
    [
      { KAFKA_SASL_MECHANISM: 'gssapi' },
      'KAFKA_SASL_MECHANISM',
      'one of plain, scram-sha-256, scram-sha-512',
    ],
    [{ KAFKA_SASL_MECHANISM: 'plain' }, 'KAFKA_SASL_USERNAME', 'a user name when SASL is on'],
    [{ KAFKA_SESSION_TIMEOUT_MS: '10s' }, 'KAFKA_SESSION_TIMEOUT_MS', 'a whole number'],
    [
      { KAFKA_HEARTBEAT_INTERVAL_MS: '40000' },
      'KAFKA_HEARTBEAT_INTERVAL_MS',
      'less than the session timeout',
    ],
    [{ KAFKA_SSL: 'maybe' }, 'KAFKA_SSL', 'true or false'],
    [{ BULLMQ_PREFIX: 'a:b' }, 'BULLMQ_PREFIX', 'a prefix without ":"'],
    [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE', 'an integer from 1 to 1000'],
    [{ EVENT_STORE_SCHEMA: 'Bad-Name' }, 'EVENT_STORE_SCHEMA', 'a lower-case SQL identifier'],
    [{ SHUTDOWN_TIMEOUT: '0' }, 'SHUTDOWN_TIMEOUT', 'a number greater than 0'],
  ])('%j fails naming %s and what it allows', (env, variable, allowed) => {
    let error: unknown;
    try {
      configFromEnv(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(variable);
    expect((error as Error).message).toContain(`expected ${allowed}`);
  });

  test('a bad adapter setting in code names its config key', () => {
    expect(() => defineConfig({ adapters: { postgres: { poolSize: 2.5 } } })).toThrow(
      'adapters.postgres.poolSize=2.5: expected an integer from 1 to 1000',
    );
  });

  test('the core README has one table row for every variable configFromEnv reads', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `([A-Z_]+)` \| `([A-Za-z.]+)` \|/gm)].map(
      ([, v, k]) => `${v}=${k}`,
    );
    const variables = [
      ...Object.entries(ENV_KEYS).map(([variable, key]) => `${variable}=${key}`),
      ...Object.entries(ADAPTER_ENV).map(([variable, { key }]) => `${variable}=${key}`),
    ];
    expect(rows.sort()).toEqual(variables.sort());
  });
});

/** A persistence side made of fakes, recording what happens to it. */
function fakeDriver(
  events: string[],
  relayHealth: HealthCheck[] = [{ name: 'relay', status: 'up' }],
): Driver {
  const closing = (name: string) => async () => void events.push(`close ${name}`);
  const eventStore = { name: 'fake', close: closing('event store') } as unknown as EventStore;
  const transactionManager: TransactionManager = Object.assign(new FakeTransactionManager(), {
    close: closing('transaction manager'),
  });
  const relay: Relay = {
    health: async () => relayHealth,
    flush: async () => {
      events.push('flush');
      return 3;
    },
    stop: async () => void events.push('stop relay'),
  };
  const persistence: Persistence = {
    eventStore,
    transactionManager,
    checkpointStore: { load: async () => 0, save: async () => {} } satisfies CheckpointStore,
    outbox: true,
    startRelay: async () => relay,
    close: closing('persistence'),
  };
  return {
    package: 'fake',
    transports: {
      memory: () =>
        Object.assign(new RecordingTransport(), {
          close: closing('transport'),
          health: async (): Promise<HealthCheck[]> => [
            { name: 'broker', status: 'down', detail: 'unreachable' },
          ],
        }),
    },
    caches: { memory: () => Object.assign(new MapCache(), { close: closing('cache') }) },
    persistence: { memory: async () => persistence },
  };
}

describe('composeCqrs', () => {
  it('uses the drivers passed, runs a relay for an outbox, and shuts down in order, logging each step', async () => {
    const events: string[] = [];
    const logger = memoryLogger();
    const app = await composeCqrs({ config: defineConfig(), drivers: [fakeDriver(events)], logger });
    expect(app.outbox).toBe(true);
    const report = await app.shutdown({ reason: 'test' });
    expect(report.clean).toBe(true);
    expect(report.steps.map((s) => `${s.step}: ${s.outcome}`)).toEqual([
      'stop consumers: done',
      'flush outbox: done',
      'stop relay: done',
      'close buses, transport and cache: done',
      'close event store: done',
    ]);
    expect(report.steps[1]?.detail).toBe('3 outbox message(s) sent');
    expect(events).toEqual([
      'flush',
      'stop relay',
      'close transport',
      'close cache',
      'close transaction manager',
      'close persistence',
    ]);
    expect(logger.lines.filter((l) => l.message.startsWith('Shutdown:')).map((l) => l.message)).toHaveLength(
      5,
    );
  });

  it('reports a required component that is down as not ready but live, and the cache as degraded only', async () => {
    const app = await composeCqrs({
      config: defineConfig(),
      drivers: [fakeDriver([])],
      logger: silentLogger,
    });
    const health = await app.health();
    expect(health).toMatchObject({ status: 'down', ready: false, live: true });
    expect(health.components.find((c) => c.component === 'transport')).toMatchObject({
      status: 'down',
      checks: [{ name: 'broker', status: 'down', detail: 'unreachable' }],
    });
    await app.close();
    expect(await app.health()).toMatchObject({ status: 'failed', ready: false, live: false });
  });

  it('is not live once something stopped for good', async () => {
    const driver = fakeDriver([], [{ name: 'relay', status: 'failed', detail: 'gave up' }]);
    const app = await composeCqrs({ config: defineConfig(), drivers: [driver], logger: silentLogger });
    expect(await app.health()).toMatchObject({ status: 'failed', live: false, ready: false });
    await app.close();
  });

  it('reports a step that outlives the deadline as timed out and still closes the rest', async () => {
    const events: string[] = [];
    const app = await composeCqrs({
      config: defineConfig(),
      drivers: [fakeDriver(events)],
      logger: silentLogger,
    });
    // A worker whose handler never finishes: the consumer stop cannot complete.
    app.adapters.transport.consume = async () => ({ close: () => new Promise<void>(() => {}) });
    await app.startWorker();
    const report = await app.shutdown({ timeoutMs: 50 });
    expect(report.clean).toBe(false);
    expect(report.steps[0]).toMatchObject({ step: 'stop consumers', outcome: 'timed out' });
    expect(events).toContain('close persistence');
  });
});

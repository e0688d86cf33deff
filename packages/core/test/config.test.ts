import { ConfigError, configFromEnv, defaultConfig, defineConfig } from '@finaegis/core';
import { describe, expect, test } from 'vitest';

describe('config', () => {
  test('defaults equal the guide’s config/domain.php', () => {
    const config = defineConfig();
    expect(config).toEqual(defaultConfig);
    expect(config.enableHandlers).toBe(true);
    expect(config.commandBus).toEqual({ asyncQueue: 'commands', transactionTimeout: 30 });
    expect(config.queryBus).toEqual({ cachePrefix: 'query', defaultTtl: 3600 });
    expect(config.eventBus).toEqual({ asyncQueue: 'events', priorityLevels: 10 });
    expect(config.queueConnection).toBe('memory');
  });

  test('partial sections are completed with defaults', () => {
    const config = defineConfig({ queryBus: { defaultTtl: 60 } });
    expect(config.queryBus).toEqual({ cachePrefix: 'query', defaultTtl: 60 });
  });

  test('reads the environment', () => {
    const config = configFromEnv({
      DOMAIN_ENABLE_HANDLERS: 'false',
      QUEUE_CONNECTION: 'kafka',
      CACHE_DRIVER: 'redis',
      EVENT_STORE: 'postgres',
      REDIS_URL: 'redis://127.0.0.1:6380',
      KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
      DATABASE_URL: 'postgresql://app@db:5432/exchange',
    });
    expect(config).toMatchObject({
      enableHandlers: false,
      queueConnection: 'kafka',
      cacheDriver: 'redis',
      eventStore: 'postgres',
      redisUrl: 'redis://127.0.0.1:6380',
      kafkaBrokers: ['127.0.0.1:9092', '127.0.0.1:9093'],
      databaseUrl: 'postgresql://app@db:5432/exchange',
    });
    expect(configFromEnv({ QUEUE_CONNECTION: '' }).queueConnection).toBe('memory');
  });

  test.each([
    [{ QUEUE_CONNECTION: 'rabbit' }, 'QUEUE_CONNECTION', /one of memory, bullmq, kafka/],
    [{ CACHE_DRIVER: 'memcached' }, 'CACHE_DRIVER', /one of memory, redis/],
    [{ EVENT_STORE: 'mysql' }, 'EVENT_STORE', /one of memory, postgres/],
    [{ DOMAIN_ENABLE_HANDLERS: 'maybe' }, 'DOMAIN_ENABLE_HANDLERS', /true or false/],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL', /redis:/],
    [{ KAFKA_BROKERS: 'nohostport' }, 'KAFKA_BROKERS', /host:port/],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /postgres:/],
  ])('bad env %j fails naming %s and the allowed values', (env, key, allowed) => {
    let error: unknown;
    try {
      configFromEnv(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as Error).message).toContain(key);
    expect((error as Error).message).toMatch(allowed);
  });

  test.each([
    [{ commandBus: { transactionTimeout: 0 } }, 'commandBus.transactionTimeout'],
    [{ queryBus: { defaultTtl: -5 } }, 'queryBus.defaultTtl'],
    [{ eventBus: { priorityLevels: 2.5 } }, 'eventBus.priorityLevels'],
    [{ eventBus: { asyncQueue: 'has spaces' } }, 'eventBus.asyncQueue'],
    [{ queueConnection: 'sqs' as 'memory' }, 'queueConnection'],
    [{ unknownKey: true } as never, 'unknownKey'],
  ])('bad value %j fails naming %s', (input, key) => {
    expect(() => defineConfig(input)).toThrow(ConfigError);
    try {
      defineConfig(input);
    } catch (e) {
      expect((e as ConfigError).key).toBe(key);
    }
  });
});

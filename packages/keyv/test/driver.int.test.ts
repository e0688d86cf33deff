import { composeCqrs, configFromEnv, silentLogger } from '@finaegis/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keyvDriver } from '../src/index';
import { assertRedisUp, REDIS_URL, uniquePrefix } from './helpers';

const open: { close(): Promise<void> }[] = [];

beforeAll(() => assertRedisUp());
afterEach(async () => {
  await Promise.all(open.splice(0).map((closable) => closable.close()));
});

describe('keyvDriver', () => {
  it('builds a Redis cache store from REDIS_URL and CACHE_KEY_PREFIX whose health shows Redis', async () => {
    const config = configFromEnv({
      CACHE_DRIVER: 'redis',
      REDIS_URL,
      CACHE_KEY_PREFIX: uniquePrefix('driver'),
    });
    const cache = await keyvDriver.caches!.redis!({ config, logger: silentLogger });
    open.push(cache);
    expect(await cache.health?.()).toEqual([{ name: 'redis', status: 'up' }]);
    await cache.close();
    expect(await cache.health?.()).toMatchObject([{ name: 'redis', status: 'down' }]);
  });

  it('reports Redis down, and the app degraded but ready, when Redis does not answer', async () => {
    const app = await composeCqrs({
      config: configFromEnv({ CACHE_DRIVER: 'redis', REDIS_URL: 'redis://127.0.0.1:1' }),
      logger: silentLogger,
    });
    open.push(app);
    const health = await app.health();
    expect(health).toMatchObject({ status: 'degraded', ready: true, live: true });
    expect(health.components.find((c) => c.component === 'cache')).toMatchObject({
      adapter: 'keyv',
      status: 'down',
      required: false,
    });
  });
});

import type { Driver } from '@finaegis/core';
import { createKeyvCacheStore } from './keyv-cache-store';

/**
 * The driver `composeCqrs()` uses for `CACHE_DRIVER=redis`: a Keyv cache store on `REDIS_URL`
 * (`rediss://` for TLS) through `@keyv/redis`, with `CACHE_KEY_PREFIX` (`config.adapters.cache`),
 * its fast-failing timeouts and cross-process single flight.
 */
export const keyvDriver: Driver = {
  package: '@finaegis/keyv',
  caches: {
    redis: ({ config }) =>
      createKeyvCacheStore({ redisUrl: config.redisUrl, keyPrefix: config.adapters.cache.keyPrefix }),
  },
};

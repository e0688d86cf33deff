import type { Driver } from '@finaegis/core';
import { createBullmqTransport } from './bullmq-transport';

/**
 * The driver `composeCqrs()` uses for `QUEUE_CONNECTION=bullmq`: a BullMQ transport on `REDIS_URL`
 * (`rediss://` for TLS), with `BULLMQ_PREFIX`, `BULLMQ_LOCK_DURATION_MS` and
 * `BULLMQ_STALLED_INTERVAL_MS` from `config.adapters.bullmq`, logging through the app's logger.
 */
export const bullmqDriver: Driver = {
  package: '@finaegis/bullmq',
  transports: {
    bullmq: ({ config, logger }) => {
      const settings = config.adapters.bullmq;
      return createBullmqTransport({
        url: config.redisUrl,
        prefix: settings.prefix,
        logger,
        ...(settings.lockDurationMs === undefined ? {} : { lockDurationMs: settings.lockDurationMs }),
        ...(settings.stalledIntervalMs === undefined
          ? {}
          : { stalledIntervalMs: settings.stalledIntervalMs }),
      });
    },
  },
};

import { composeCqrs, configFromEnv, silentLogger, type Transport } from '@finaegis/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bullmqDriver } from '../src/index';
import { REDIS_URL, removePrefix, requireRedis, uniquePrefix } from './helpers';

const prefixes: string[] = [];
const open: { close(): Promise<void> }[] = [];

beforeAll(requireRedis);
afterEach(async () => {
  await Promise.all(open.splice(0).map((closable) => closable.close()));
  await Promise.all(prefixes.splice(0).map(removePrefix));
});

function transportFrom(env: Record<string, string>): Promise<Transport> {
  const config = configFromEnv({ QUEUE_CONNECTION: 'bullmq', REDIS_URL, ...env });
  return Promise.resolve(bullmqDriver.transports!.bullmq!({ config, logger: silentLogger }));
}

describe('bullmqDriver', () => {
  it('builds the transport from REDIS_URL and BULLMQ_PREFIX, whose health shows Redis and each consumer', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const transport = await transportFrom({ BULLMQ_PREFIX: prefix, BULLMQ_LOCK_DURATION_MS: '5000' });
    open.push(transport);
    await transport.consume('jobs', async () => {}, { group: 'workers' });
    await transport.send('jobs', { id: 'm-1', type: 't', body: '{}', headers: {} });
    expect(await transport.health?.()).toEqual([
      { name: 'redis', status: 'up' },
      { name: 'consumer jobs/workers', status: 'up' },
    ]);
    await transport.close();
    expect(await transport.health?.()).toEqual([{ name: 'transport', status: 'down', detail: 'closed' }]);
  });

  it('reports Redis down when it does not answer', async () => {
    const transport = await transportFrom({
      REDIS_URL: 'redis://127.0.0.1:1',
      BULLMQ_PREFIX: uniquePrefix(),
    });
    open.push(transport);
    const [redis] = (await transport.health?.()) ?? [];
    expect(redis).toMatchObject({ name: 'redis', status: 'down' });
  });

  it('is what composeCqrs finds for QUEUE_CONNECTION=bullmq', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const app = await composeCqrs({
      config: configFromEnv({ QUEUE_CONNECTION: 'bullmq', REDIS_URL, BULLMQ_PREFIX: prefix }),
      logger: silentLogger,
    });
    open.push(app);
    expect(app.adapters.transport.name).toBe('bullmq');
    expect((await app.health()).components[0]).toMatchObject({ component: 'transport', status: 'up' });
  });
});

import { composeCqrs, configFromEnv, silentLogger, type Transport } from '@finaegis/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kafkaDriver } from '../src/index';
import { BROKERS, removePrefix, requireKafka, uniquePrefix } from './helpers';

const prefixes: string[] = [];
const open: { close(): Promise<void> }[] = [];

beforeAll(requireKafka);
afterEach(async () => {
  await Promise.all(open.splice(0).map((closable) => closable.close()));
  await Promise.all(prefixes.splice(0).map(removePrefix));
});

function transportFrom(env: Record<string, string>): Promise<Transport> {
  const config = configFromEnv({ QUEUE_CONNECTION: 'kafka', KAFKA_BROKERS: BROKERS.join(','), ...env });
  return Promise.resolve(kafkaDriver.transports!.kafka!({ config, logger: silentLogger }));
}

describe('kafkaDriver', () => {
  it('builds the transport from KAFKA_* variables, whose health shows the cluster and each consumer in its group', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const transport = await transportFrom({
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_CLIENT_ID: 'driver-test',
      KAFKA_SESSION_TIMEOUT_MS: '10000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
    });
    open.push(transport);
    const received: string[] = [];
    await transport.consume('jobs', async (message) => void received.push(message.id), { group: 'workers' });
    await transport.send('jobs', { id: 'm-1', type: 't', body: '{}', headers: {} });
    await expect.poll(() => received, { timeout: 30_000 }).toEqual(['m-1']);
    const checks = (await transport.health?.()) ?? [];
    expect(checks.map((c) => `${c.name}: ${c.status}`)).toEqual(['broker: up', 'consumer jobs/workers: up']);
    expect(checks[1]?.detail).toMatch(/^joined, \d+ partition\(s\)$/);
    await transport.close();
    expect(await transport.health?.()).toEqual([{ name: 'transport', status: 'down', detail: 'closed' }]);
  });

  it('reports the broker down when none answers', async () => {
    const transport = await transportFrom({
      KAFKA_BROKERS: '127.0.0.1:1',
      KAFKA_TOPIC_PREFIX: uniquePrefix(),
    });
    open.push(transport);
    const [broker] = (await transport.health?.()) ?? [];
    expect(broker).toMatchObject({ name: 'broker', status: 'down' });
  });

  it('is what composeCqrs finds for QUEUE_CONNECTION=kafka', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const app = await composeCqrs({
      config: configFromEnv({
        QUEUE_CONNECTION: 'kafka',
        KAFKA_BROKERS: BROKERS.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
      }),
      logger: silentLogger,
    });
    open.push(app);
    expect(app.adapters.transport.name).toBe('kafka');
  });
});

// Unit tests of the replication options: no broker needed.
import { describe, expect, test } from 'vitest';
import { createKafkaTransport } from '../src/index';
import { chooseReplication } from '../src/topics';

const BROKERS = ['127.0.0.1:9092'];

describe('replication of created topics', () => {
  test('chosen from the number of brokers: never 1 on a cluster, 3 and 2 in sync from three brokers on', () => {
    const open = { replicationFactor: undefined, minInSyncReplicas: undefined };
    expect(chooseReplication(open, 1)).toEqual({ replicationFactor: 1, minInSyncReplicas: undefined });
    expect(chooseReplication(open, 2)).toEqual({ replicationFactor: 2, minInSyncReplicas: undefined });
    expect(chooseReplication(open, 3)).toEqual({ replicationFactor: 3, minInSyncReplicas: 2 });
    expect(chooseReplication(open, 7)).toEqual({ replicationFactor: 3, minInSyncReplicas: 2 });
  });

  test('the options win over the broker count', () => {
    expect(chooseReplication({ replicationFactor: 5, minInSyncReplicas: 3 }, 7)).toEqual({
      replicationFactor: 5,
      minInSyncReplicas: 3,
    });
    expect(chooseReplication({ replicationFactor: 2, minInSyncReplicas: undefined }, 3)).toEqual({
      replicationFactor: 2,
      minInSyncReplicas: undefined,
    });
    expect(chooseReplication({ replicationFactor: undefined, minInSyncReplicas: 1 }, 3)).toEqual({
      replicationFactor: 3,
      minInSyncReplicas: 1,
    });
    expect(chooseReplication({ replicationFactor: -1, minInSyncReplicas: undefined }, 3)).toEqual({
      replicationFactor: -1,
      minInSyncReplicas: undefined,
    });
  });

  test('refuses a bad replicationFactor or minInSyncReplicas with a ConfigError naming the option', () => {
    for (const replicationFactor of [0, -2, 1.5]) {
      expect(() => createKafkaTransport({ brokers: BROKERS, replicationFactor })).toThrow(
        expect.objectContaining({
          name: 'ConfigError',
          adapter: '@finaegis/kafka',
          key: 'replicationFactor',
        }),
      );
    }
    for (const minInSyncReplicas of [0, 2.5]) {
      expect(() => createKafkaTransport({ brokers: BROKERS, minInSyncReplicas })).toThrow(
        expect.objectContaining({ name: 'ConfigError', key: 'minInSyncReplicas' }),
      );
    }
    // Every send to such a topic would fail.
    expect(() =>
      createKafkaTransport({ brokers: BROKERS, replicationFactor: 2, minInSyncReplicas: 3 }),
    ).toThrow(expect.objectContaining({ name: 'ConfigError', key: 'minInSyncReplicas' }));
  });
});

test("the README's production settings are accepted (a transport connects only when first used)", async () => {
  // --- README "Production settings" (the CA read from a file there) ---
  const transport = createKafkaTransport({
    brokers: 'kafka-1.internal:9093,kafka-2.internal:9093,kafka-3.internal:9093',
    clientId: 'exchange-workers',
    ssl: { ca: ['-----BEGIN CERTIFICATE-----'] },
    sasl: { mechanism: 'scram-sha-512', username: 'exchange', password: process.env.KAFKA_PASSWORD ?? '' },
    topicPrefix: 'exchange.',
    replicationFactor: 3,
    minInSyncReplicas: 2,
  });
  // --- end ---
  expect(transport.topicName('orders')).toBe('exchange.orders');
  await transport.close();
});

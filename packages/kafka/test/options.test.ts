// Unit tests: no broker needed (a transport connects on first use).
import { ConfigError, InvalidArgumentError } from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { createKafkaTransport, type KafkaTransport } from '../src/index';
import { crashKafkaTransport } from '../src/testing';

const BROKERS = ['127.0.0.1:9092'];

describe('createKafkaTransport options', () => {
  test('refuses options without a client or brokers with a ConfigError naming the package', () => {
    for (const options of [{}, { brokers: [] }, { brokers: '' }, { brokers: ['a:1', ''] }]) {
      expect(() => createKafkaTransport(options)).toThrow(ConfigError);
    }
    expect(() => createKafkaTransport({})).toThrow(
      expect.objectContaining({ adapter: '@finaegis/kafka', key: 'brokers' }),
    );
  });

  test('refuses a partitions count below 1 or not an integer, and a negative outageTimeoutMs', () => {
    for (const partitions of [0, -1, 1.5]) {
      expect(() => createKafkaTransport({ brokers: BROKERS, partitions })).toThrow(
        expect.objectContaining({ name: 'ConfigError', adapter: '@finaegis/kafka', key: 'partitions' }),
      );
    }
    expect(() => createKafkaTransport({ brokers: BROKERS, outageTimeoutMs: -1 })).toThrow(
      expect.objectContaining({ name: 'ConfigError', key: 'outageTimeoutMs' }),
    );
  });

  test('names topics and consumer groups from the prefixes', async () => {
    const transport = createKafkaTransport({ brokers: 'a:1, b:2', topicPrefix: 't.', groupIdPrefix: 'g.' });
    expect(transport.topicName('orders')).toBe('t.orders');
    expect(transport.groupId('orders', 'billing')).toBe('g.orders.billing');
    await transport.close();
  });
});

describe('@finaegis/kafka/testing', () => {
  test('crashKafkaTransport closes the transport it crashed', async () => {
    const transport = createKafkaTransport({ brokers: BROKERS });
    await crashKafkaTransport(transport);
    await expect(transport.consume('c', async () => {}, { group: 'g' })).rejects.toMatchObject({
      name: 'TransportClosedError',
    });
  });

  test('crashKafkaTransport refuses a transport createKafkaTransport did not make', async () => {
    const foreign = { name: 'kafka', close: async () => {} } as unknown as KafkaTransport;
    await expect(crashKafkaTransport(foreign)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

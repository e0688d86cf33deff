import type { Driver, KafkaAdapterSettings } from '@finaegis/core';
import type { SASLOptions } from 'kafkajs';
import { createKafkaTransport } from './kafka-transport';

/** kafkajs' SASL options for the configured mechanism. */
function saslOptions(sasl: NonNullable<KafkaAdapterSettings['sasl']>): SASLOptions {
  const { username, password } = sasl;
  if (sasl.mechanism === 'plain') return { mechanism: 'plain', username, password };
  if (sasl.mechanism === 'scram-sha-256') return { mechanism: 'scram-sha-256', username, password };
  return { mechanism: 'scram-sha-512', username, password };
}

/**
 * The driver `composeCqrs()` uses for `QUEUE_CONNECTION=kafka`: a Kafka transport on
 * `KAFKA_BROKERS`, with the client id, topic and group prefixes, TLS, SASL and the consumer
 * session timeout and heartbeat interval of `config.adapters.kafka` (`KAFKA_*` variables), logging
 * through the app's logger.
 */
export const kafkaDriver: Driver = {
  package: '@finaegis/kafka',
  transports: {
    kafka: ({ config, logger }) => {
      const settings = config.adapters.kafka;
      const { sasl, groupIdPrefix, sessionTimeoutMs, heartbeatIntervalMs } = settings;
      return createKafkaTransport({
        brokers: config.kafkaBrokers,
        clientId: settings.clientId,
        topicPrefix: settings.topicPrefix,
        logger,
        ...(groupIdPrefix === undefined ? {} : { groupIdPrefix }),
        ...(settings.ssl ? { ssl: true } : {}),
        ...(sasl === undefined ? {} : { sasl: saslOptions(sasl) }),
        ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
        ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
      });
    },
  },
};

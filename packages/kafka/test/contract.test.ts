import { transportContract } from '@finaegis/contract-tests';
import type { Transport } from '@finaegis/core';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createKafkaTransport, type KafkaTransport } from '../src/index';
import { crashKafkaTransport } from '../src/testing';
import { kafka, removePrefix, requireKafka, testTransport, uniquePrefix } from './helpers';
import { OwnBroker } from './own-broker';

// One prefix for the file (the harness's transports must share a broker); every contract test
// uses its own channel and groups inside it.
const prefix = uniquePrefix();
const made: Transport[] = [];
let raw: Producer | undefined;

beforeAll(requireKafka);
afterAll(async () => {
  await Promise.allSettled(made.map((t) => t.close()));
  await raw?.disconnect();
  await removePrefix(prefix);
});

const features = {
  delay: false,
  priority: false,
  orderingByKey: true,
  consumerGroups: true,
  deadLetter: true,
  dedupe: false,
  persistent: true,
  depth: true,
};

transportContract(
  { describe, test, expect },
  {
    name: 'kafka',
    features,
    async create() {
      const transport = testTransport(prefix);
      made.push(transport);
      return transport;
    },
    async sendRaw(channel, text, transport) {
      if (!raw) {
        raw = kafka.producer();
        await raw.connect();
      }
      await raw.send({
        topic: (transport as KafkaTransport).topicName(channel),
        messages: [{ value: text }],
      });
    },
    crash: (transport) => crashKafkaTransport(transport as KafkaTransport),
    tolerances: { waitMs: 45_000, settleMs: 1_000 },
  },
);

// The groups that concern what is on the wire once more with every channel sending CloudEvents
// (binary, then structured mode): a message sent that way comes back exactly as it was sent.
for (const mode of ['binary', 'structured'] as const) {
  const harness = {
    name: `kafka (CloudEvents ${mode})`,
    features,
    async create() {
      const transport = testTransport(prefix, { cloudEvents: { channels: () => mode } });
      made.push(transport);
      return transport;
    },
    crash: (transport: Transport) => crashKafkaTransport(transport as KafkaTransport),
    tolerances: { waitMs: 45_000, settleMs: 1_000 },
  };
  describe(harness.name, () => {
    for (const group of ['delivery', 'ordering', 'retries', 'deadLetter'] as const) {
      transportContract[group]({ describe, test, expect }, harness);
    }
  });
}

// The reconnect group restarts the broker, so it gets a broker of its own, never the shared one.
let ownBroker: OwnBroker | undefined;
const onOwnBroker: Transport[] = [];
afterAll(async () => {
  await Promise.allSettled(onOwnBroker.map((t) => t.close()));
  await ownBroker?.dispose();
}, 60_000);

transportContract.reconnect(
  { describe, test, expect },
  {
    name: 'kafka (own broker)',
    features,
    async create() {
      ownBroker ??= await OwnBroker.start();
      const transport = createKafkaTransport({
        brokers: ownBroker.brokers,
        topicPrefix: prefix,
        partitions: 2,
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 500,
        rebalanceTimeoutMs: 8_000,
      });
      onOwnBroker.push(transport);
      return transport;
    },
    restartBroker: async () => ownBroker?.restart(),
    tolerances: { waitMs: 60_000, settleMs: 1_000 },
  },
);

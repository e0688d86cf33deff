import { transportContract } from '@finaegis/contract-tests';
import type { Transport } from '@finaegis/core';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KafkaTransport } from '../src/index';
import { kafka, removePrefix, requireKafka, testTransport, uniquePrefix } from './helpers';

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

transportContract(
  { describe, test, expect },
  {
    name: 'kafka',
    features: {
      delay: false,
      priority: false,
      orderingByKey: true,
      consumerGroups: true,
      deadLetter: true,
      dedupe: false,
      persistent: true,
      depth: true,
    },
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
    crash: (transport) => (transport as KafkaTransport).crash(),
    tolerances: { waitMs: 45_000, settleMs: 1_000 },
  },
);

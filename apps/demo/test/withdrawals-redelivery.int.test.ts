// Withdrawals on a real broker and PostgreSQL, with every message the relay sends delivered three
// times (the first delivery and two redeliveries, same id): the inbox makes each handler's effects
// happen once, the process manager handles each event once, timeouts fire (BullMQ: the broker's
// delay; Kafka: the schedule table), and the books add up.
import { randomBytes } from 'node:crypto';
import type { Inbox, Transport } from '@finaegis/core';
import { afterAll, describe, expect, test } from 'vitest';
import { parseAmount } from '../src/decimal';
import { behaviourOf } from '../src/withdrawals/provider';
import {
  dropSchema,
  prepareSchema,
  removeKafkaPrefix,
  startWithdrawalNode,
  type WithdrawalNode,
} from './fixtures/withdrawal-node';
import { eventually, removeRedisPrefix } from './helpers';

const WITHDRAWALS = 100;
const COPIES = 3;
const id = randomBytes(4).toString('hex');
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Sends each message `COPIES` times: what a consumer sees when the broker redelivers it. */
function duplicating(transport: Transport, sent: { count: number }): Transport {
  return {
    name: transport.name,
    features: transport.features,
    async send(channel, message, options) {
      for (let copy = 0; copy < COPIES; copy++) await transport.send(channel, message, options);
      sent.count += 1;
    },
    consume: (channel, handler, options) => transport.consume(channel, handler, options),
    deadLetters: (channel, options) => transport.deadLetters(channel, options),
    redrive: (channel, options) => transport.redrive(channel, options),
    depth: (channel, options) => transport.depth(channel, options),
    close: () => transport.close(),
  };
}

function counting(inbox: Inbox, skipped: { count: number }): Inbox {
  return {
    name: inbox.name,
    async record(consumer, messageId) {
      const first = await inbox.record(consumer, messageId);
      if (!first) skipped.count += 1;
      return first;
    },
  };
}

describe.each(['bullmq', 'kafka'] as const)(
  'withdrawals on %s with every message delivered three times',
  (queue) => {
    test(`${WITHDRAWALS} withdrawals: each effect once, each ends once, balances reconciled`, async () => {
      const schema = `wd_redeliver_${queue}_${id}`;
      const prefix = `wd-redeliver-${queue}-${id}`;
      await prepareSchema(schema);
      cleanups.push(() => dropSchema(schema));
      cleanups.push(() => (queue === 'bullmq' ? removeRedisPrefix(prefix) : removeKafkaPrefix(prefix)));
      const sent = { count: 0 };
      const skipped = { count: 0 };
      const base = {
        queue,
        schema,
        prefix,
        payoutTimeoutSeconds: 1.5,
        provider: { slowMs: 2_500 },
        wrapInbox: (inbox: Inbox) => counting(inbox, skipped),
      };
      const nodes: WithdrawalNode[] = [];
      cleanups.push(async () => {
        for (const node of nodes.reverse()) await node.close();
      });
      const front = await startWithdrawalNode({
        ...base,
        role: 'front',
        wrapRelayTransport: (transport) => duplicating(transport, sent),
      });
      nodes.push(front);
      nodes.push(await startWithdrawalNode({ ...base, role: 'worker', concurrency: 8 }));
      nodes.push(await startWithdrawalNode({ ...base, role: 'worker', concurrency: 8 }));

      const book = front.withdrawals.book;
      await book.open('alice', parseAmount('10000'));
      await book.open('bob', parseAmount('40'));
      const ids: string[] = [];
      for (let index = 0; index < WITHDRAWALS; index++) {
        const account = index % 4 === 0 ? 'bob' : 'alice';
        ids.push(
          await front.withdrawals.request(account, `${(index % 9) + 1}.5`, `wd-${queue}-${id}-${index}`),
        );
      }
      expect(new Set(ids.map((withdrawalId) => behaviourOf(withdrawalId))).size).toBe(4);

      const result = await eventually(async () => {
        const r = await front.withdrawals.reconcile();
        return r.withdrawals === WITHDRAWALS && r.stuck === 0 ? r : undefined;
      }, 150_000);
      expect(result.doubleSettled).toBe(0);
      expect(result.mismatched).toBe(0);
      expect(result.balanced).toBe(true);
      expect(result.reservedLeft).toBe(0n);
      expect(
        (result.byStage.settled ?? 0) + (result.byStage.released ?? 0) + (result.byStage.rejected ?? 0),
      ).toBe(WITHDRAWALS);
      // Every copy reached a worker, and each second and third copy was recognised and skipped.
      await eventually(async () => (skipped.count >= sent.count * (COPIES - 1) ? true : undefined), 60_000);
      expect(skipped.count).toBe(sent.count * (COPIES - 1));
    });
  },
);

// Stops and restarts a broker of the test's own (same data, same ports) while a consumer and a
// producer use it: sends made while it is down complete once it is back, and nothing is lost.
import type { Logger } from '@finaegis/core';
import { afterAll, describe, expect, test } from 'vitest';
import { createKafkaTransport, type KafkaTransport } from '../src/index';
import { OwnBroker } from './own-broker';

let broker: OwnBroker | undefined;
let transport: KafkaTransport | undefined;

/** What the transport reported, shown when the test fails: the why of a stuck consumer. */
const logged: string[] = [];
const note =
  (level: string) =>
  (message: string, context?: Record<string, unknown>): void => {
    logged.push(
      `${new Date().toISOString().slice(11, 23)} ${level} ${message} ${JSON.stringify(context ?? {})}`,
    );
  };
const logger: Logger = { debug() {}, info: note('info'), warn: note('warn'), error: note('error') };

afterAll(async () => {
  await transport?.close();
  await broker?.dispose();
});

describe('broker restart', () => {
  test('sends made while the broker is down complete after it is back, and every message is handled', async () => {
    broker = await OwnBroker.start();
    transport = createKafkaTransport({
      brokers: broker.brokers,
      partitions: 2,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      rebalanceTimeoutMs: 8_000,
      logger,
    });
    const handled = new Set<string>();
    let deliveries = 0;
    await transport.consume(
      'orders',
      async (m) => {
        deliveries++;
        handled.add(m.id);
      },
      { group: 'workers', concurrency: 4 },
    );
    const send = (i: number) =>
      transport!.send('orders', { id: `m-${i}`, type: 't', body: String(i), headers: {}, key: `k${i % 7}` });
    await Promise.all(Array.from({ length: 100 }, (_, i) => send(i)));
    const waitAll = async (n: number) => {
      for (const deadline = Date.now() + 90_000; handled.size < n; ) {
        if (Date.now() > deadline) {
          throw new Error(
            `only ${handled.size} of ${n} handled; the transport logged:\n${logged.join('\n')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await waitAll(100);

    await broker.stop();
    const downAt = Date.now();
    let sentWhileDown = false;
    const later = Promise.all(Array.from({ length: 100 }, (_, i) => send(100 + i))).then(() => {
      sentWhileDown = true;
    });
    await new Promise((r) => setTimeout(r, 2_000));
    expect(sentWhileDown).toBe(false);
    await broker.resume();
    const outage = Date.now() - downAt;
    await later;
    await waitAll(200);
    console.info(
      `[broker-restart] broker away ${(outage / 1000).toFixed(1)} s; 200 messages handled, ` +
        `${deliveries - handled.size} duplicate deliveries`,
    );
    expect([...handled].sort()).toEqual(Array.from({ length: 200 }, (_, i) => `m-${i}`).sort());
  }, 180_000);
});

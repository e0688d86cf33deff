// A 30 s outage of a broker of the test's own: sends made during it resolve once it is back, the
// consumer resumes on its own, and nothing is lost. In the same window, a transport told to wait
// only 4 s gives up on a send and on its consumer with BrokerUnavailableError.
import { afterAll, describe, expect, test } from 'vitest';
import { BrokerUnavailableError, createKafkaTransport, type KafkaTransport } from '../src/index';
import { OwnBroker } from './own-broker';

const OUTAGE_MS = 30_000;
let broker: OwnBroker | undefined;
const transports: KafkaTransport[] = [];

afterAll(async () => {
  await Promise.allSettled(transports.map((t) => t.close()));
  await broker?.dispose();
});

const options = (brokers: string) => ({
  brokers,
  partitions: 2,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 8_000,
});

const record = (i: number) => ({ id: `m-${i}`, type: 't', body: String(i), headers: {}, key: `k${i % 5}` });

async function waitFor(condition: () => boolean, what: string, ms = 90_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a broker outage of 30 s', () => {
  test('sends made during it resolve after the broker is back, the consumer resumes, nothing is lost; a shorter outageTimeoutMs gives up with BrokerUnavailableError', async () => {
    broker = await OwnBroker.start();
    // The default outageTimeoutMs (60 s) rides this outage out.
    const patient = createKafkaTransport(options(broker.brokers));
    const impatientFailures: Error[] = [];
    const impatient = createKafkaTransport({
      ...options(broker.brokers),
      outageTimeoutMs: 4_000,
      onConsumerFailure: (error) => impatientFailures.push(error),
    });
    transports.push(patient, impatient);

    const handled = new Set<string>();
    let deliveries = 0;
    await patient.consume(
      'orders',
      async (m) => {
        deliveries++;
        handled.add(m.id);
      },
      { group: 'workers', concurrency: 4 },
    );
    await impatient.consume('other', async () => {}, { group: 'workers' });
    await Promise.all(Array.from({ length: 50 }, (_, i) => patient.send('orders', record(i))));
    await waitFor(() => handled.size === 50, 'the first 50 messages');

    await broker.stop();
    const downAt = Date.now();
    const settled: number[] = [];
    const track = (i: number) =>
      patient.send('orders', record(i)).then(() => {
        settled.push(i);
      });
    // Sends at the start of the outage and in its middle.
    const early = Array.from({ length: 50 }, (_, i) => track(50 + i));
    const impatientSend = impatient.send('other', record(0)).then(
      () => undefined,
      (error: unknown) => ({ error, after: Date.now() - downAt }),
    );
    await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
    const middle = Array.from({ length: 50 }, (_, i) => track(100 + i));
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - downAt)));
    expect(settled).toEqual([]);

    // The impatient transport gave up on its send, with the typed error. Its consumer gives up
    // once kafkajs crashed it twice without a broker (each crash takes kafkajs' own retries, about
    // 10 s): waited for here, so the outage lasts at least 30 s and only longer if that is late.
    const gaveUp = await impatientSend;
    expect(gaveUp?.error).toBeInstanceOf(BrokerUnavailableError);
    expect((gaveUp!.error as BrokerUnavailableError).code).toBe('BROKER_UNAVAILABLE');
    expect(gaveUp!.after).toBeGreaterThanOrEqual(4_000);
    await waitFor(() => impatientFailures.length > 0, 'the impatient consumer to give up', 60_000);
    expect(settled).toEqual([]);
    expect(impatientFailures.length).toBe(1);
    expect(impatientFailures[0]).toBeInstanceOf(BrokerUnavailableError);
    expect(impatientFailures[0]!.message).toMatch(/consume other as group workers/);

    await broker.resume();
    const outage = Date.now() - downAt;
    await Promise.all([...early, ...middle]);
    await waitFor(() => handled.size === 150, 'all 150 messages after the outage');
    console.info(
      `[broker-outage] broker away ${(outage / 1000).toFixed(1)} s; 150 messages handled, ` +
        `${deliveries - handled.size} duplicate deliveries; the 4 s transport gave up after ` +
        `${(gaveUp!.after / 1000).toFixed(1)} s`,
    );
    expect([...handled].sort()).toEqual(Array.from({ length: 150 }, (_, i) => `m-${i}`).sort());
  }, 240_000);
});

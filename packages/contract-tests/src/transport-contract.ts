import { randomUUID } from 'node:crypto';
import type {
  ConsumeOptions,
  MessageHandler,
  ReceivedMessage,
  RetryPolicy,
  SendOptions,
  Subscription,
  Transport,
  TransportFeatures,
  TransportMessage,
} from '@finaegis/core';
import {
  type ContractRunner,
  type Gate,
  gate,
  report,
  sleep,
  stressFactor,
  uniqueName,
  waitFor,
} from './runner';

/** Timing allowances of a transport under test. All in milliseconds. */
export interface TransportTolerances {
  /** How late a delayed message may arrive after it is due. Default 1,000. */
  readonly delayLateMs?: number;
  /** How early a delayed message may arrive (clock skew between broker and test). Default 0. */
  readonly delayEarlyMs?: number;
  /** Longest wait for something that must happen (delivery, redelivery after a crash...). Default 30,000. */
  readonly waitMs?: number;
  /** How long to watch for something that must not happen (a duplicate delivery). Default 300. */
  readonly settleMs?: number;
  /** Time limit of each test. Default 120,000. */
  readonly testTimeoutMs?: number;
  /**
   * Messages a consumer with concurrency 1 may already hold when a backlog forms (broker
   * prefetch); the priority test ignores that many at the start. Default 0.
   */
  readonly prefetch?: number;
}

/** How the suite reaches the transport under test. */
export interface TransportHarness {
  /** Shown in test names, e.g. `memory`, `bullmq`. */
  readonly name: string;
  /**
   * The features the adapter declares. Tests of a feature declared `false` are not registered
   * (the suite prints which); a test checks that every created transport declares exactly these.
   */
  readonly features: TransportFeatures;
  /**
   * A fresh transport. Transports made by one harness must reach the same broker, as separate
   * processes would: the group, crash and resubscribe tests use several at once.
   */
  create(): Promise<Transport>;
  /**
   * Writes raw text to a channel, bypassing `send`, as a foreign or broken producer would. Needed by
   * the `decoding` group.
   */
  sendRaw?(channel: string, raw: string, transport: Transport): Promise<void>;
  /**
   * Kills a transport as a crash would: its consumers stop without acknowledging what they were
   * handling, so that the broker redelivers it to another consumer. Needed by the `crash` group.
   */
  crash?(transport: Transport): Promise<void>;
  readonly tolerances?: TransportTolerances;
  /** Multiplies the message counts (stress mode). Default: env `STRESS`, else 1. */
  readonly stress?: number;
}

/** Registers one group of the transport contract. */
export type TransportContractGroup = (runner: ContractRunner, harness: TransportHarness) => void;

const FAST_RETRY: RetryPolicy = { attempts: 3, backoff: { type: 'fixed', delayMs: 20 } };

interface Settings {
  readonly waitMs: number;
  readonly settleMs: number;
  readonly timeoutMs: number;
  readonly delayLateMs: number;
  readonly delayEarlyMs: number;
  readonly prefetch: number;
  readonly stress: number;
}

function settingsOf(harness: TransportHarness): Settings {
  const t = harness.tolerances ?? {};
  return {
    waitMs: t.waitMs ?? 30_000,
    settleMs: t.settleMs ?? 300,
    timeoutMs: t.testTimeoutMs ?? 120_000,
    delayLateMs: t.delayLateMs ?? 1_000,
    delayEarlyMs: t.delayEarlyMs ?? 0,
    prefetch: t.prefetch ?? 0,
    stress: stressFactor(harness.stress),
  };
}

/** What one test opened, closed at its end whatever happened. */
class Scope {
  readonly channel = uniqueName('contract');
  private readonly transports: Transport[] = [];
  private readonly subscriptions: Subscription[] = [];
  private readonly gates: Gate[] = [];
  private groups = 0;

  constructor(
    readonly harness: TransportHarness,
    readonly settings: Settings,
  ) {}

  async transport(): Promise<Transport> {
    const transport = await this.harness.create();
    this.transports.push(transport);
    return transport;
  }

  /** Group names are unique per test too: a Kafka group id spans topics. */
  group(): string {
    this.groups++;
    return `${this.channel}-g${this.groups}`;
  }

  async consume(
    transport: Transport,
    handler: MessageHandler,
    options: ConsumeOptions,
    channel = this.channel,
  ): Promise<Subscription> {
    const subscription = await transport.consume(channel, handler, options);
    this.subscriptions.push(subscription);
    return subscription;
  }

  gate(): Gate {
    const g = gate();
    this.gates.push(g);
    return g;
  }

  wait(condition: () => boolean | Promise<boolean>, what: string | (() => string)): Promise<void> {
    return waitFor(condition, what, this.settings.waitMs);
  }

  /** Gives something that must not happen the time to happen. */
  settle(): Promise<void> {
    return sleep(this.settings.settleMs);
  }

  count(n: number): number {
    return Math.max(1, Math.round(n * this.settings.stress));
  }

  async dispose(): Promise<void> {
    // Blocked handlers are let go first, or closing would wait for them forever.
    for (const g of this.gates) g.open();
    await Promise.allSettled(this.subscriptions.map((s) => s.close()));
    await Promise.allSettled(this.transports.map((t) => t.close()));
  }
}

function message(index: number, extra: Partial<TransportMessage> = {}): TransportMessage {
  return {
    id: `${randomUUID()}`,
    type: 'contract.Message',
    body: JSON.stringify({ index }),
    headers: { index: String(index) },
    ...extra,
  };
}

/** Collects what a consumer received. */
class Inbox {
  readonly received: ReceivedMessage[] = [];
  readonly handler: MessageHandler = async (m) => {
    this.received.push(m);
  };

  ids(): Set<string> {
    return new Set(this.received.map((m) => m.id));
  }

  has(id: string): boolean {
    return this.received.some((m) => m.id === id);
  }

  duplicates(): string[] {
    const seen = new Set<string>();
    const twice: string[] = [];
    for (const m of this.received) {
      if (seen.has(m.id)) twice.push(m.id);
      seen.add(m.id);
    }
    return twice;
  }
}

function define(
  runner: ContractRunner,
  harness: TransportHarness,
): (name: string, body: (scope: Scope) => Promise<void>) => void {
  const settings = settingsOf(harness);
  return (name, body) => {
    runner.test(
      name,
      async () => {
        const scope = new Scope(harness, settings);
        try {
          await body(scope);
        } finally {
          await scope.dispose();
        }
      },
      settings.timeoutMs,
    );
  };
}

/** Registers `names` only when `feature` is declared; otherwise prints that they were left out. */
function whenDeclared(
  harness: TransportHarness,
  feature: keyof TransportFeatures,
  names: readonly string[],
  register: () => void,
): void {
  if (harness.features[feature]) {
    register();
  } else {
    report(`${harness.name} transport declares ${feature} off; not registered: ${names.join('; ')}`);
  }
}

async function sendAll(
  transport: Transport,
  channel: string,
  messages: readonly TransportMessage[],
  options?: SendOptions,
): Promise<void> {
  for (const m of messages) await transport.send(channel, m, options);
}

const features: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('features', () => {
    test('every transport declares the features the harness states', async (scope) => {
      const transport = await scope.transport();
      runner.expect({ ...transport.features }).toEqual({ ...harness.features });
      for (const value of Object.values(transport.features)) runner.expect(typeof value).toBe('boolean');
    });
    const refusals: Array<[keyof TransportFeatures, SendOptions]> = [
      ['delay', { delayMs: 1_000 }],
      ['priority', { priority: 5 }],
      ['dedupe', { dedupeId: 'once' }],
    ];
    for (const [feature, options] of refusals) {
      if (harness.features[feature]) continue;
      test(`a send asking for ${feature}, declared off, is refused with UnsupportedFeatureError`, async (scope) => {
        const transport = await scope.transport();
        const error = await transport.send(scope.channel, message(1), options).then(
          () => undefined,
          (e: unknown) => e,
        );
        runner.expect((error as Error | undefined)?.name).toBe('UnsupportedFeatureError');
      });
    }
    if (!harness.features.depth) {
      test('depth(), declared off, is refused with UnsupportedFeatureError', async (scope) => {
        const transport = await scope.transport();
        const error = await transport.depth(scope.channel).then(
          () => undefined,
          (e: unknown) => e,
        );
        runner.expect((error as Error | undefined)?.name).toBe('UnsupportedFeatureError');
      });
    }
  });
};

const delivery: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('delivery', () => {
    test('round trip: every message arrives once with id, type, body, headers, key and attempt 1', async (scope) => {
      const transport = await scope.transport();
      const group = scope.group();
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group, concurrency: 4 });
      const count = scope.count(100);
      const sent = Array.from({ length: count }, (_, i) =>
        message(i, i % 2 === 0 ? { key: `key-${i % 7}` } : {}),
      );
      await sendAll(transport, scope.channel, sent);
      await scope.wait(
        () => inbox.received.length >= count,
        () => `${count} messages (got ${inbox.received.length})`,
      );
      await scope.settle();
      runner.expect(inbox.duplicates()).toEqual([]);
      const byId = new Map(inbox.received.map((m) => [m.id, m]));
      for (const m of sent) {
        const got = byId.get(m.id);
        runner.expect(got).toBeDefined();
        runner.expect({ type: got?.type, body: got?.body, headers: got?.headers, key: got?.key }).toEqual({
          type: m.type,
          body: m.body,
          headers: m.headers,
          key: m.key,
        });
        runner.expect({ channel: got?.channel, group: got?.group, attempt: got?.attempt }).toEqual({
          channel: scope.channel,
          group,
          attempt: 1,
        });
      }
    });

    test('payload and headers arrive byte for byte: unicode, nested JSON, empty and 256 KiB bodies', async (scope) => {
      const transport = await scope.transport();
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group: scope.group() });
      const nested = {
        amount: '12345678901234567890.000000001',
        text: 'Zażółć gęślą jaźń — 価格 💶 \u0000 \u2028 "quoted" \\ back',
        deep: { list: [1, 'two', { three: [null, true, false] }], empty: {} },
      };
      const big = 'x'.repeat(256 * 1024 - 7) + 'ż€💶';
      const sent = [
        message(1, { body: JSON.stringify(nested), headers: { 'x-ünicode': 'wert € 💶', empty: '' } }),
        message(2, { body: big, headers: {} }),
        message(3, { body: '', headers: { 'content-type': 'text/plain; charset=utf-8' } }),
        message(4, {
          type: 'contract.Ünïcode.Type',
          body: '  leading and trailing spaces  ',
          key: 'ключ-🔑',
        }),
      ];
      await sendAll(transport, scope.channel, sent);
      await scope.wait(() => inbox.ids().size >= sent.length, 'the four messages');
      for (const m of sent) {
        const got = inbox.received.find((r) => r.id === m.id);
        runner.expect({ type: got?.type, body: got?.body, headers: got?.headers, key: got?.key }).toEqual({
          type: m.type,
          body: m.body,
          headers: m.headers,
          key: m.key,
        });
      }
      runner.expect(inbox.received.find((r) => r.id === sent[1]!.id)?.body.length).toBe(big.length);
    });

    test('50 concurrent senders × 100 messages: each received exactly once', async (scope) => {
      const transport = await scope.transport();
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group: scope.group(), concurrency: 16 });
      const senders = 50;
      const perSender = scope.count(100);
      const total = senders * perSender;
      await Promise.all(
        Array.from({ length: senders }, async (_, s) => {
          for (let i = 0; i < perSender; i++) {
            await transport.send(scope.channel, message(s * perSender + i));
          }
        }),
      );
      await scope.wait(
        () => inbox.received.length >= total,
        () => `${total} messages (got ${inbox.received.length})`,
      );
      await scope.settle();
      runner.expect(inbox.duplicates()).toEqual([]);
      runner.expect(inbox.ids().size).toBe(total);
    });

    test('channels are isolated from each other', async (scope) => {
      const transport = await scope.transport();
      const other = uniqueName('contract');
      const mine = new Inbox();
      const theirs = new Inbox();
      await scope.consume(transport, mine.handler, { group: scope.group() });
      await scope.consume(transport, theirs.handler, { group: scope.group() }, other);
      const forMine = Array.from({ length: 10 }, (_, i) => message(i));
      const forTheirs = Array.from({ length: 10 }, (_, i) => message(100 + i));
      await Promise.all([sendAll(transport, scope.channel, forMine), sendAll(transport, other, forTheirs)]);
      await scope.wait(
        () => mine.ids().size >= 10 && theirs.ids().size >= 10,
        'ten messages on each channel',
      );
      await scope.settle();
      runner.expect([...mine.ids()].sort()).toEqual(forMine.map((m) => m.id).sort());
      runner.expect([...theirs.ids()].sort()).toEqual(forTheirs.map((m) => m.id).sort());
      runner.expect(mine.received.every((m) => m.channel === scope.channel)).toBe(true);
      runner.expect(theirs.received.every((m) => m.channel === other)).toBe(true);
    });

    test('messages sent before any consumer exists are delivered to the first group that consumes', async (scope) => {
      const transport = await scope.transport();
      const sent = Array.from({ length: scope.count(20) }, (_, i) => message(i));
      await sendAll(transport, scope.channel, sent);
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group: scope.group(), concurrency: 4 });
      await scope.wait(
        () => inbox.ids().size >= sent.length,
        () => `${sent.length} messages sent before the consumer (got ${inbox.ids().size})`,
      );
      runner.expect([...inbox.ids()].sort()).toEqual(sent.map((m) => m.id).sort());
    });
  });
};

const groups: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('groups', () => {
    test('3 competing consumers in one group handle each message exactly once', async (scope) => {
      const group = scope.group();
      const inboxes = [new Inbox(), new Inbox(), new Inbox()];
      for (const inbox of inboxes) {
        await scope.consume(await scope.transport(), inbox.handler, { group, concurrency: 2 });
      }
      const sender = await scope.transport();
      const count = scope.count(300);
      const sent = Array.from({ length: count }, (_, i) => message(i, { key: `k${i % 30}` }));
      await sendAll(sender, scope.channel, sent);
      const all = () => inboxes.flatMap((inbox) => inbox.received);
      await scope.wait(
        () => all().length >= count,
        () => `${count} messages (got ${all().length})`,
      );
      await scope.settle();
      const ids = all().map((m) => m.id);
      runner.expect(ids.length).toBe(count);
      runner.expect(new Set(ids).size).toBe(count);
      runner.expect(all().every((m) => m.group === group)).toBe(true);
    });

    whenDeclared(harness, 'consumerGroups', ['two groups each receive every message'], () => {
      test('two groups each receive every message', async (scope) => {
        const first = new Inbox();
        const second = new Inbox();
        const firstGroup = scope.group();
        const secondGroup = scope.group();
        await scope.consume(await scope.transport(), first.handler, { group: firstGroup, concurrency: 4 });
        await scope.consume(await scope.transport(), second.handler, { group: secondGroup, concurrency: 4 });
        const sender = await scope.transport();
        const sent = Array.from({ length: scope.count(100) }, (_, i) => message(i));
        await sendAll(sender, scope.channel, sent);
        await scope.wait(
          () => first.ids().size >= sent.length && second.ids().size >= sent.length,
          () => `${sent.length} messages in each group (got ${first.ids().size} and ${second.ids().size})`,
        );
        await scope.settle();
        runner.expect(first.duplicates()).toEqual([]);
        runner.expect(second.duplicates()).toEqual([]);
        runner.expect(first.received.every((m) => m.group === firstGroup)).toBe(true);
        runner.expect(second.received.every((m) => m.group === secondGroup)).toBe(true);
      });
    });
  });
};

const ordering: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const name = 'messages with the same key are handled one at a time in send order (1,000 messages, 10 keys)';
  whenDeclared(harness, 'orderingByKey', [name], () => {
    runner.describe('ordering', () => {
      test(name, async (scope) => {
        const transport = await scope.transport();
        const keys = 10;
        const perKey = scope.count(100);
        const seen = new Map<string, number[]>();
        const active = new Map<string, number>();
        let overlaps = 0;
        let handled = 0;
        await scope.consume(
          transport,
          async (m) => {
            const key = m.key ?? '';
            const now = (active.get(key) ?? 0) + 1;
            active.set(key, now);
            if (now > 1) overlaps++;
            const { index } = JSON.parse(m.body) as { index: number };
            // Uneven handling times, so that a transport that does not hold a key's later messages back shows it.
            if (index % 3 === 0) await sleep(1);
            else await Promise.resolve();
            seen.set(key, [...(seen.get(key) ?? []), index]);
            active.set(key, (active.get(key) ?? 1) - 1);
            handled++;
          },
          { group: scope.group(), concurrency: 8 },
        );
        // Each key's messages are sent one after another (so their order is defined), keys side by side.
        await Promise.all(
          Array.from({ length: keys }, async (_, k) => {
            for (let i = 0; i < perKey; i++) {
              await transport.send(scope.channel, message(i, { key: `key-${k}` }));
            }
          }),
        );
        const total = keys * perKey;
        await scope.wait(
          () => handled >= total,
          () => `${total} messages (handled ${handled})`,
        );
        runner.expect(overlaps).toBe(0);
        runner.expect(seen.size).toBe(keys);
        for (const [key, indexes] of seen) {
          runner
            .expect({ key, indexes })
            .toEqual({ key, indexes: Array.from({ length: perKey }, (_, i) => i) });
        }
      });
    });
  });
};

const retries: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('retries', () => {
    test('a handler that fails twice then succeeds is retried and sees attempts 1, 2, 3', async (scope) => {
      const transport = await scope.transport();
      const attempts: number[] = [];
      const ids: string[] = [];
      let done = false;
      await scope.consume(
        transport,
        async (m) => {
          attempts.push(m.attempt);
          ids.push(m.id);
          if (m.attempt < 3) throw new Error(`transient failure ${m.attempt}`);
          done = true;
        },
        { group: scope.group(), retry: { attempts: 5, backoff: { type: 'fixed', delayMs: 20 } } },
      );
      const sent = message(1);
      await transport.send(scope.channel, sent);
      await scope.wait(
        () => done,
        () => `the third attempt (attempts so far: ${attempts.join(', ')})`,
      );
      await scope.settle();
      runner.expect(attempts).toEqual([1, 2, 3]);
      runner.expect(ids).toEqual([sent.id, sent.id, sent.id]);
    });

    test('an error with retryable === false is not retried, and the consumer goes on', async (scope) => {
      const transport = await scope.transport();
      const group = scope.group();
      const permanent = message(1);
      const after = message(2);
      const calls: ReceivedMessage[] = [];
      await scope.consume(
        transport,
        async (m) => {
          calls.push(m);
          if (m.id === permanent.id)
            throw Object.assign(new Error('permanent failure'), { retryable: false });
        },
        { group, retry: { attempts: 5, backoff: { type: 'fixed', delayMs: 10 } } },
      );
      await transport.send(scope.channel, permanent);
      await transport.send(scope.channel, after);
      await scope.wait(() => calls.some((m) => m.id === after.id), 'the message after the failing one');
      if (harness.features.deadLetter) {
        await scope.wait(
          async () => (await transport.deadLetters(scope.channel, { group })).length === 1,
          'the failed message in dead-letter',
        );
        const [letter] = await transport.deadLetters(scope.channel, { group });
        runner.expect(letter?.attempts).toBe(1);
        runner.expect(letter?.message.id).toBe(permanent.id);
        runner.expect(letter?.error.message).toContain('permanent failure');
      }
      await scope.settle();
      runner.expect(calls.filter((m) => m.id === permanent.id)).toHaveLength(1);
    });
  });
};

const deadLetter: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const names = [
    'a message that always fails is dead-lettered after the configured attempts while others keep flowing',
    're-driving gives a dead letter another full set of attempts',
    're-driving by id re-drives only those dead letters',
  ];
  whenDeclared(harness, 'deadLetter', names, () => {
    runner.describe('dead letters', () => {
      test(names[0]!, async (scope) => {
        const transport = await scope.transport();
        const group = scope.group();
        const poison = message(0, { type: 'contract.Poison', headers: { reason: 'always fails ✗' } });
        const good = Array.from({ length: scope.count(20) }, (_, i) => message(i + 1));
        const poisonAttempts: number[] = [];
        const handled = new Set<string>();
        await scope.consume(
          transport,
          async (m) => {
            if (m.id === poison.id) {
              poisonAttempts.push(m.attempt);
              throw new Error(`poison ${m.id}`);
            }
            handled.add(m.id);
          },
          { group, concurrency: 2, retry: FAST_RETRY },
        );
        const before = Date.now();
        await transport.send(scope.channel, poison);
        await sendAll(transport, scope.channel, good);
        await scope.wait(() => handled.size >= good.length, 'the good messages');
        await scope.wait(
          async () => (await transport.deadLetters(scope.channel, { group })).length === 1,
          'the poison message in dead-letter',
        );
        const [letter] = await transport.deadLetters(scope.channel, { group });
        runner.expect(letter?.channel).toBe(scope.channel);
        runner.expect(letter?.group).toBe(group);
        runner.expect(letter?.attempts).toBe(3);
        runner.expect({ ...letter?.message }).toEqual({ ...poison });
        runner.expect(letter?.error.name).toBe('Error');
        runner.expect(letter?.error.message).toContain(`poison ${poison.id}`);
        runner.expect(letter?.failedAt).toBeGreaterThanOrEqual(before - 1_000);
        runner.expect(letter?.failedAt).toBeLessThanOrEqual(Date.now() + 1_000);
        runner.expect(typeof letter?.id).toBe('string');
        runner.expect(poisonAttempts).toEqual([1, 2, 3]);
        runner.expect(await transport.deadLetters(scope.channel, { group: `${group}-other` })).toEqual([]);
      });

      test(names[1]!, async (scope) => {
        const transport = await scope.transport();
        const group = scope.group();
        const poison = message(0);
        let healed = false;
        const attempts: number[] = [];
        await scope.consume(
          transport,
          async (m) => {
            attempts.push(m.attempt);
            if (!healed) throw new Error('still broken');
          },
          { group, retry: FAST_RETRY },
        );
        const letters = async () => transport.deadLetters(scope.channel, { group });
        await transport.send(scope.channel, poison);
        await scope.wait(async () => (await letters()).length === 1, 'the first dead letter');
        runner.expect(await transport.redrive(scope.channel, { group })).toBe(1);
        await scope.wait(
          async () => (await letters()).length === 1 && attempts.length >= 6,
          'dead-lettered again',
        );
        runner.expect(attempts).toEqual([1, 2, 3, 1, 2, 3]);
        runner.expect((await letters())[0]?.attempts).toBe(3);
        healed = true;
        runner.expect(await transport.redrive(scope.channel)).toBe(1);
        await scope.wait(
          async () => attempts.length >= 7 && (await letters()).length === 0,
          'the healed delivery',
        );
        await scope.settle();
        runner.expect(attempts).toEqual([1, 2, 3, 1, 2, 3, 1]);
        runner.expect(await letters()).toEqual([]);
      });

      test(names[2]!, async (scope) => {
        const transport = await scope.transport();
        const group = scope.group();
        const first = message(1);
        const second = message(2);
        const healed = new Set<string>();
        const handled: string[] = [];
        await scope.consume(
          transport,
          async (m) => {
            if (!healed.has(m.id)) throw Object.assign(new Error('broken'), { retryable: false });
            handled.push(m.id);
          },
          { group, retry: FAST_RETRY },
        );
        await sendAll(transport, scope.channel, [first, second]);
        const letters = async () => transport.deadLetters(scope.channel, { group });
        await scope.wait(async () => (await letters()).length === 2, 'two dead letters');
        const all = await letters();
        runner.expect(all.map((l) => l.message.id).sort()).toEqual([first.id, second.id].sort());
        runner.expect((await transport.deadLetters(scope.channel, { group, limit: 1 })).length).toBe(1);
        const firstLetter = all.find((l) => l.message.id === first.id)!;
        healed.add(first.id);
        runner.expect(await transport.redrive(scope.channel, { group, ids: [firstLetter.id] })).toBe(1);
        await scope.wait(() => handled.includes(first.id), 'the re-driven message');
        const left = await letters();
        runner.expect(left.map((l) => l.message.id)).toEqual([second.id]);
        runner.expect(handled).toEqual([first.id]);
      });
    });
  });
};

const decoding: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('decoding', () => {
    test('undecodable input is set aside with MessageDecodeError and the consumer keeps going', async (scope) => {
      if (!harness.sendRaw) {
        throw new Error(
          `[@finaegis/contract-tests] the ${harness.name} harness needs sendRaw() for this test`,
        );
      }
      const transport = await scope.transport();
      const group = scope.group();
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group, retry: FAST_RETRY });
      const raws = ['{ this is not json', '{"hello":"a JSON object that is not a message"}'];
      for (const raw of raws) await harness.sendRaw(scope.channel, raw, transport);
      const good = message(1);
      await transport.send(scope.channel, good);
      await scope.wait(() => inbox.has(good.id), 'the good message after the undecodable ones');
      if (harness.features.deadLetter) {
        await scope.wait(
          async () => (await transport.deadLetters(scope.channel, { group })).length === raws.length,
          'the undecodable input in dead-letter',
        );
        const letters = await transport.deadLetters(scope.channel, { group });
        runner.expect(letters.map((l) => l.message.body).sort()).toEqual([...raws].sort());
        for (const letter of letters) {
          runner.expect(letter.message.type).toBe('');
          runner.expect(letter.error.name).toBe('MessageDecodeError');
          runner.expect(letter.attempts).toBe(1);
        }
      }
      await scope.settle();
      runner.expect(inbox.received.map((m) => m.id)).toEqual([good.id]);
    });
  });
};

const delay: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const name = 'a delayed message is not delivered early, arrives within the tolerance and holds nothing up';
  whenDeclared(harness, 'delay', [name], () => {
    runner.describe('delay', () => {
      test(name, async (scope) => {
        const transport = await scope.transport();
        const arrivals = new Map<string, number>();
        await scope.consume(
          transport,
          async (m) => {
            arrivals.set(m.id, Date.now());
          },
          { group: scope.group(), concurrency: 2 },
        );
        const delayMs = 600;
        const delayed = message(1);
        const immediate = message(2);
        const sentAt = Date.now();
        await transport.send(scope.channel, delayed, { delayMs });
        await transport.send(scope.channel, immediate);
        await scope.wait(() => arrivals.has(delayed.id), 'the delayed message');
        const immediateAt = arrivals.get(immediate.id);
        const delayedAt = arrivals.get(delayed.id)!;
        runner.expect(immediateAt).toBeDefined();
        runner.expect(immediateAt!).toBeLessThanOrEqual(delayedAt);
        runner.expect(delayedAt - sentAt).toBeGreaterThanOrEqual(delayMs - scope.settings.delayEarlyMs);
        runner.expect(delayedAt - sentAt).toBeLessThanOrEqual(delayMs + scope.settings.delayLateMs);
      });
    });
  });
};

const priority: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const name = 'a backlog is handled highest priority first';
  whenDeclared(harness, 'priority', [name], () => {
    runner.describe('priority', () => {
      test(name, async (scope) => {
        const transport = await scope.transport();
        const blocker = message(-1);
        const hold = scope.gate();
        const order: number[] = [];
        let started = false;
        await scope.consume(
          transport,
          async (m) => {
            if (m.id === blocker.id) {
              started = true;
              await hold.promise;
              return;
            }
            order.push(Number(m.headers.priority));
          },
          { group: scope.group(), concurrency: 1 },
        );
        await transport.send(scope.channel, blocker);
        await scope.wait(() => started, 'the consumer to take the first message');
        const priorities = Array.from({ length: scope.count(40) }, (_, i) => (i * 7) % 10);
        for (const p of priorities) {
          await transport.send(scope.channel, message(p, { headers: { priority: String(p) } }), {
            priority: p,
          });
        }
        hold.open();
        await scope.wait(() => order.length >= priorities.length, 'the backlog');
        const judged = order.slice(scope.settings.prefetch);
        runner.expect(judged).toEqual([...judged].sort((a, b) => b - a));
      });
    });
  });
};

const crash: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('crash', () => {
    test('a message held by a consumer that dies is redelivered to another consumer of the group', async (scope) => {
      if (!harness.crash) {
        throw new Error(`[@finaegis/contract-tests] the ${harness.name} harness needs crash() for this test`);
      }
      const group = scope.group();
      const doomed = await scope.transport();
      const survivor = await scope.transport();
      const hang = scope.gate();
      const taken: ReceivedMessage[] = [];
      await scope.consume(
        doomed,
        async (m) => {
          taken.push(m);
          await hang.promise;
        },
        { group },
      );
      const sent = message(1, { key: 'crash-key' });
      await survivor.send(scope.channel, sent);
      await scope.wait(() => taken.length === 1, 'the first consumer to take the message');
      const inbox = new Inbox();
      await scope.consume(survivor, inbox.handler, { group });
      await harness.crash(doomed);
      await scope.wait(() => inbox.has(sent.id), 'the redelivery to the surviving consumer');
      const again = inbox.received.find((m) => m.id === sent.id)!;
      runner.expect({ body: again.body, headers: again.headers, key: again.key }).toEqual({
        body: sent.body,
        headers: sent.headers,
        key: sent.key,
      });
      runner.expect(again.attempt).toBeGreaterThanOrEqual(1);
    });
  });
};

const close: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('close', () => {
    test('Subscription.close stops taking, waits for the handler in flight, acks it, and is idempotent', async (scope) => {
      const transport = await scope.transport();
      const group = scope.group();
      const hold = scope.gate();
      let started = 0;
      let finished = 0;
      const subscription = await scope.consume(
        transport,
        async () => {
          started++;
          await hold.promise;
          finished++;
        },
        { group },
      );
      const first = message(1);
      await transport.send(scope.channel, first);
      await scope.wait(() => started === 1, 'the handler to start');
      let closed = false;
      const closing = Promise.all([subscription.close(), subscription.close()]).then(() => {
        closed = true;
      });
      await scope.settle();
      runner.expect(closed).toBe(false);
      hold.open();
      await closing;
      runner.expect(finished).toBe(1);
      await subscription.close();
      // The closed consumer takes nothing more; the handled message was acked, so a new consumer
      // of the group sees only the next one.
      const inbox = new Inbox();
      await scope.consume(transport, inbox.handler, { group });
      const second = message(2);
      await transport.send(scope.channel, second);
      await scope.wait(() => inbox.has(second.id), 'the next message at the new consumer');
      await scope.settle();
      runner.expect(inbox.received.map((m) => m.id)).toEqual([second.id]);
      runner.expect(started).toBe(1);
    });

    test('Transport.close waits for the handlers in flight and is idempotent', async (scope) => {
      const transport = await scope.transport();
      const hold = scope.gate();
      let started = 0;
      let finished = 0;
      await scope.consume(
        transport,
        async () => {
          started++;
          await hold.promise;
          finished++;
        },
        { group: scope.group(), concurrency: 3 },
      );
      await sendAll(transport, scope.channel, [message(1), message(2), message(3)]);
      await scope.wait(() => started === 3, 'three handlers to start');
      let closed = false;
      const closing = Promise.all([transport.close(), transport.close()]).then(() => {
        closed = true;
      });
      await scope.settle();
      runner.expect(closed).toBe(false);
      hold.open();
      await closing;
      runner.expect(finished).toBe(3);
      await transport.close();
    });

    test('nothing is lost across closing a consumer and subscribing again', async (scope) => {
      const transport = await scope.transport();
      const group = scope.group();
      const handled = new Set<string>();
      const handler: MessageHandler = async (m) => {
        await sleep(1);
        handled.add(m.id);
      };
      const first = await scope.consume(transport, handler, { group });
      const before = Array.from({ length: scope.count(60) }, (_, i) => message(i));
      await sendAll(transport, scope.channel, before);
      await scope.wait(() => handled.size >= 10, 'some messages before closing');
      await first.close();
      const between = Array.from({ length: scope.count(20) }, (_, i) => message(1_000 + i));
      await sendAll(transport, scope.channel, between);
      const sender = await scope.transport();
      const resubscribed = await scope.transport();
      await scope.consume(resubscribed, handler, { group, concurrency: 4 });
      const after = Array.from({ length: scope.count(20) }, (_, i) => message(2_000 + i));
      await sendAll(sender, scope.channel, after);
      const all = [...before, ...between, ...after];
      await scope.wait(
        () => all.every((m) => handled.has(m.id)),
        () => `all ${all.length} messages (got ${handled.size})`,
      );
      runner.expect(handled.size).toBe(all.length);
    });
  });
};

const dedupe: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const name = 'a dedupe id sent twice is handled once; other ids are not affected';
  whenDeclared(harness, 'dedupe', [name], () => {
    runner.describe('dedupe', () => {
      test(name, async (scope) => {
        const transport = await scope.transport();
        const inbox = new Inbox();
        await scope.consume(transport, inbox.handler, { group: scope.group() });
        const dedupeId = uniqueName('dedupe');
        const original = message(1);
        const copy = message(2);
        const other = message(3);
        const plain = message(4);
        await transport.send(scope.channel, original, { dedupeId });
        await transport.send(scope.channel, copy, { dedupeId });
        await transport.send(scope.channel, other, { dedupeId: `${dedupeId}-other` });
        await transport.send(scope.channel, plain);
        await scope.wait(
          () => inbox.has(original.id) && inbox.has(other.id) && inbox.has(plain.id),
          'the original, the other id and the plain message',
        );
        await scope.settle();
        runner.expect(inbox.has(copy.id)).toBe(false);
        runner.expect(inbox.received).toHaveLength(3);
      });
    });
  });
};

const depth: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  const name = 'depth counts waiting, in-flight (and delayed) messages of a group, and falls to 0';
  whenDeclared(harness, 'depth', [name], () => {
    runner.describe('depth', () => {
      test(name, async (scope) => {
        const transport = await scope.transport();
        const group = scope.group();
        const depth = () => transport.depth(scope.channel, { group });
        // The group exists from its first consumer on; it keeps receiving while it has none.
        await (await transport.consume(scope.channel, async () => {}, { group })).close();
        const count = 5;
        await sendAll(
          transport,
          scope.channel,
          Array.from({ length: count }, (_, i) => message(i)),
        );
        await scope.wait(async () => (await depth()) === count, `depth ${count}`);
        const hold = scope.gate();
        let started = 0;
        let finished = 0;
        await scope.consume(
          transport,
          async () => {
            started++;
            await hold.promise;
            finished++;
          },
          { group },
        );
        await scope.wait(() => started === 1, 'the consumer to take one');
        runner.expect(await depth()).toBe(count);
        if (harness.features.delay) {
          await transport.send(scope.channel, message(99), { delayMs: 60_000 });
          await scope.wait(async () => (await depth()) === count + 1, 'the delayed message counted');
        }
        hold.open();
        await scope.wait(() => finished === count, `${count} handled`);
        const left = harness.features.delay ? 1 : 0;
        await scope.wait(async () => (await depth()) === left, `depth ${left}`);
        runner.expect(await depth()).toBe(left);
      });
    });
  });
};

const GROUPS = {
  features,
  delivery,
  groups,
  ordering,
  retries,
  deadLetter,
  decoding,
  delay,
  priority,
  crash,
  close,
  dedupe,
  depth,
} as const;

/** Names of the groups `transportContract` runs; each is also `transportContract.<name>`. */
export type TransportContractGroupName = keyof typeof GROUPS;

function runAll(runner: ContractRunner, harness: TransportHarness): void {
  const off = (Object.keys(harness.features) as Array<keyof TransportFeatures>).filter(
    (feature) => !harness.features[feature],
  );
  report(
    `${harness.name} transport: features declared off: ${off.length > 0 ? off.join(', ') : 'none'}` +
      ` (stress ×${stressFactor(harness.stress)})`,
  );
  runner.describe(`${harness.name} transport contract`, () => {
    for (const group of Object.values(GROUPS)) group(runner, harness);
  });
}

/**
 * Registers the whole transport contract for an adapter. Each group can also run alone, e.g.
 * `transportContract.delivery(runner, harness)`.
 */
export const transportContract: ((runner: ContractRunner, harness: TransportHarness) => void) &
  Readonly<Record<TransportContractGroupName, TransportContractGroup>> = Object.assign(runAll, GROUPS);

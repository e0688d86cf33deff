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
import { type DefineTest, defineTests, TestScope, whenDeclared } from '../registration';
import { type ContractRunner, type Gate, gate, sleep, stressFactor, uniqueName, waitFor } from '../runner';
import type { TransportHarness } from './harness';

export const FAST_RETRY: RetryPolicy = { attempts: 3, backoff: { type: 'fixed', delayMs: 20 } };

export interface Settings {
  readonly waitMs: number;
  readonly settleMs: number;
  readonly timeoutMs: number;
  readonly delayLateMs: number;
  readonly delayEarlyMs: number;
  readonly prefetch: number;
  readonly stress: number;
}

export function settingsOf(harness: TransportHarness): Settings {
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

/** What one transport test opened, closed at its end whatever happened. */
export class Scope extends TestScope {
  readonly channel = uniqueName('contract');
  private readonly subscriptions: Subscription[] = [];
  private readonly gates: Gate[] = [];
  private groups = 0;

  constructor(
    readonly harness: TransportHarness,
    readonly settings: Settings,
  ) {
    super();
  }

  async transport(): Promise<Transport> {
    return this.opened(await this.harness.create());
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

  /** A handler that holds every message it takes until `release()`; let go when the test ends. */
  held(): HeldHandler {
    return new HeldHandler(this.gate());
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

  override async dispose(): Promise<void> {
    // Blocked handlers are let go first, or closing would wait for them forever.
    for (const g of this.gates) g.open();
    await Promise.allSettled(this.subscriptions.map((s) => s.close()));
    await super.dispose();
  }
}

/** The `test` of a transport group: a fresh `Scope` per test, disposed of at its end. */
export function define(runner: ContractRunner, harness: TransportHarness): DefineTest<Scope> {
  const settings = settingsOf(harness);
  return defineTests(runner, settings.timeoutMs, () => new Scope(harness, settings));
}

/** Registers `names` only when the harness declares `feature`; otherwise prints that they were left out. */
export function whenFeature(
  harness: TransportHarness,
  feature: keyof TransportFeatures,
  names: readonly string[],
  register: () => void,
): void {
  whenDeclared(
    harness.features[feature],
    `${harness.name} transport declares ${feature} off`,
    names,
    register,
  );
}

export function message(index: number, extra: Partial<TransportMessage> = {}): TransportMessage {
  return {
    id: `${randomUUID()}`,
    type: 'contract.Message',
    body: JSON.stringify({ index }),
    headers: { index: String(index) },
    ...extra,
  };
}

/** Holds every message it takes until released, counting the handlers started and finished. */
export class HeldHandler {
  started = 0;
  finished = 0;

  constructor(private readonly hold: Gate) {}

  readonly handler: MessageHandler = async () => {
    this.started++;
    await this.hold.promise;
    this.finished++;
  };

  release(): void {
    this.hold.open();
  }
}

/** Collects what a consumer received. */
export class Inbox {
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

export async function sendAll(
  transport: Transport,
  channel: string,
  messages: readonly TransportMessage[],
  options?: SendOptions,
): Promise<void> {
  for (const m of messages) await transport.send(channel, m, options);
}

/** What an error looks like in an assertion: its name, or what was seen instead of an error. */
export function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  return error === undefined ? 'no error (it resolved)' : `a non-error: ${String(error)}`;
}

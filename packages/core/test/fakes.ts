// Small in-test stand-ins for the ports, to test the buses' own logic. The real adapters are
// tested against the contract suite in their packages.
import {
  type CacheStore,
  type ConsumeOptions,
  type DeadLetter,
  type Logger,
  type MessageHandler,
  type SendOptions,
  type Subscription,
  type TransactionContext,
  type TransactionManager,
  TransactionTimeoutError,
  type Transport,
  type TransportMessage,
} from '@finaegis/core';

export class RecordingTransport implements Transport {
  readonly name = 'recording';
  readonly features = {
    delay: true,
    priority: false,
    orderingByKey: false,
    consumerGroups: false,
    deadLetter: false,
    dedupe: false,
    persistent: false,
    depth: false,
  };
  readonly sent: { channel: string; message: TransportMessage; options: SendOptions | undefined }[] = [];
  readonly handlers = new Map<string, MessageHandler>();

  async send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void> {
    this.sent.push({ channel, message, options });
  }
  async consume(channel: string, handler: MessageHandler, _options: ConsumeOptions): Promise<Subscription> {
    this.handlers.set(channel, handler);
    return { close: async () => void this.handlers.delete(channel) };
  }
  /** Hands every sent message of a channel to its consumer, as a broker would. */
  async deliverAll(channel: string, group = 'workers'): Promise<unknown[]> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`no consumer on ${channel}`);
    const errors: unknown[] = [];
    for (const { message } of this.sent.filter((s) => s.channel === channel)) {
      await handler({ ...message, channel, group, attempt: 1 }).catch((error: unknown) => errors.push(error));
    }
    return errors;
  }
  async deadLetters(): Promise<DeadLetter[]> {
    return [];
  }
  async redrive(): Promise<number> {
    return 0;
  }
  async depth(): Promise<number> {
    return this.sent.length;
  }
  async close(): Promise<void> {}
}

export class MapCache implements CacheStore {
  readonly name = 'map';
  readonly entries = new Map<string, unknown>();
  gets = 0;
  async get(namespace: string, key: string) {
    this.gets += 1;
    const k = `${namespace}|${key}`;
    return this.entries.has(k) ? { value: this.entries.get(k) } : undefined;
  }
  async set(namespace: string, key: string, value: unknown) {
    this.entries.set(`${namespace}|${key}`, value);
  }
  async delete(namespace: string, key: string) {
    return this.entries.delete(`${namespace}|${key}`);
  }
  async clear(namespace: string) {
    for (const k of [...this.entries.keys()]) if (k.startsWith(`${namespace}|`)) this.entries.delete(k);
  }
  async close() {}
}

export class BrokenCache implements CacheStore {
  readonly name = 'broken';
  async get(): Promise<undefined> {
    throw new Error('cache down');
  }
  async set(): Promise<void> {
    throw new Error('cache down');
  }
  async delete(): Promise<boolean> {
    throw new Error('cache down');
  }
  async clear(): Promise<void> {
    throw new Error('cache down');
  }
  async close() {}
}

/** A unit-of-work transaction manager with the timeout semantics the port asks for. */
export class FakeTransactionManager implements TransactionManager {
  readonly name = 'fake';
  commits = 0;
  rollbacks = 0;
  async run<T>(work: (tx: TransactionContext) => Promise<T>, options: { timeoutMs: number }): Promise<T> {
    const controller = new AbortController();
    const tx: TransactionContext = {
      id: `tx-${this.commits + this.rollbacks}`,
      signal: controller.signal,
      client: undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new TransactionTimeoutError(options.timeoutMs));
      }, options.timeoutMs);
    });
    try {
      const result = await Promise.race([work(tx), timeout]);
      this.commits += 1;
      return result;
    } catch (error) {
      this.rollbacks += 1;
      controller.abort();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
  async close() {}
}

export function memoryLogger(): Logger & { lines: { level: string; message: string; context?: unknown }[] } {
  const lines: { level: string; message: string; context?: unknown }[] = [];
  const at = (level: string) => (message: string, context?: unknown) =>
    void lines.push({ level, message, context });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * A transaction manager whose transactions write to a key-value map through `tx.client`, with
 * savepoints: enough to check what the buses commit, undo and deliver around nested transactions.
 */
export class SavepointTransactionManager implements TransactionManager {
  readonly name = 'savepoints';
  readonly committed = new Map<string, string>();
  savepoints = 0;
  async run<T>(work: (tx: TransactionContext) => Promise<T>): Promise<T> {
    const writes = new Map<string, string>();
    const controller = new AbortController();
    const context = (level: Map<string, string>): TransactionContext => ({
      id: 'tx',
      signal: controller.signal,
      client: level,
      savepoint: async <R>(nested: (tx: TransactionContext) => Promise<R>): Promise<R> => {
        this.savepoints += 1;
        const before = new Map(level);
        try {
          return await nested(context(level));
        } catch (error) {
          level.clear();
          for (const [k, v] of before) level.set(k, v);
          throw error;
        }
      },
    });
    const result = await work(context(writes));
    for (const [k, v] of writes) this.committed.set(k, v);
    return result;
  }
  async close() {}
}

/** A transport whose sends fail while `failing(message)` says so. */
export class FlakyTransport extends RecordingTransport {
  readonly tries: string[] = [];
  constructor(readonly failing: (message: TransportMessage, attempt: number) => boolean) {
    super();
  }
  override async send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void> {
    this.tries.push(message.id);
    const attempt = this.tries.filter((id) => id === message.id).length;
    if (this.failing(message, attempt)) throw new Error(`broker refused ${message.type}`);
    await super.send(channel, message, options);
  }
}

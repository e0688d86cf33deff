import {
  type ConsumeOptions,
  type DeadLetter,
  InvalidArgumentError,
  type MessageHandler,
  type SendOptions,
  type Subscription,
  type Transport,
  type TransportFeatures,
  type TransportMessage,
} from '@finaegis/core';
import {
  assertSendSupported,
  checkChannelName,
  checkSendOptions,
  checkTransportMessage,
  Lifecycle,
  resolveConsumeOptions,
} from '@finaegis/core/adapter';
import type { Consumer } from './consumer-group';
import {
  type BrokerState,
  createMemoryBroker,
  type MemoryBroker,
  type MemoryBrokerOptions,
  stateOf,
} from './memory-broker';

/** Options of {@link createMemoryTransport}. */
export interface MemoryTransportOptions extends MemoryBrokerOptions {
  /**
   * The broker the transport sends to and consumes from. Several transports on one broker behave
   * like several processes on one message broker (used by the contract suite's crash test).
   * Default: a broker of its own, dropped when the transport closes.
   */
  readonly broker?: MemoryBroker;
}

/**
 * The in-process transport: the reference implementation of the Transport port, for tests and for
 * running everything in one process. Messages live in memory and are lost when the process ends
 * (`features.persistent` is false).
 *
 * A group receives every message sent after its first consumer subscribed, also while it has no
 * consumer. Messages sent to a channel that has no group yet are kept and go to the first group
 * that consumes it; a group created later starts with the messages sent after its creation.
 */
export interface MemoryTransport extends Transport {
  /** The broker this transport uses (its own unless one was passed in). */
  readonly broker: MemoryBroker;
}

const FEATURES: TransportFeatures = Object.freeze({
  delay: true,
  priority: true,
  orderingByKey: true,
  consumerGroups: true,
  deadLetter: true,
  dedupe: true,
  persistent: false,
  depth: true,
});

const ADAPTER = '@finaegis/memory';

/**
 * Key of the crash hook. A registered symbol rather than an `instanceof` check: the CommonJS build
 * gives `@finaegis/memory` and `@finaegis/memory/testing` each a copy of this class.
 */
const CRASH = Symbol.for('@finaegis/memory/testing: crash');

class MemoryTransportImpl implements MemoryTransport {
  readonly name = 'memory';
  readonly features: TransportFeatures = FEATURES;
  readonly broker: MemoryBroker;
  readonly #state: BrokerState;
  readonly #ownsBroker: boolean;
  readonly #consumers = new Set<Consumer>();
  readonly #lifecycle = new Lifecycle(ADAPTER);

  constructor(options: MemoryTransportOptions) {
    this.#ownsBroker = options.broker === undefined;
    this.broker = options.broker ?? createMemoryBroker(options);
    this.#state = stateOf(this.broker);
  }

  async send(channel: string, message: TransportMessage, options: SendOptions = {}): Promise<void> {
    this.#lifecycle.assertOpen('send');
    checkChannelName(ADAPTER, 'channel', channel);
    checkSendOptions(ADAPTER, options);
    assertSendSupported(this, options, ADAPTER);
    const copy = checkTransportMessage(ADAPTER, message);
    this.#state.publish(channel, options.key === undefined ? copy : { ...copy, key: options.key }, options);
  }

  async consume(channel: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription> {
    this.#lifecycle.assertOpen('consume');
    checkChannelName(ADAPTER, 'channel', channel);
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(ADAPTER, 'handler', 'must be a function');
    const { group: groupName, concurrency, retry } = resolveConsumeOptions(ADAPTER, options);
    const group = this.#state.group(channel, groupName);
    const consumer: Consumer = {
      group,
      handler,
      concurrency,
      retry,
      inFlight: new Set(),
      idle: undefined,
      closing: undefined,
    };
    this.#consumers.add(consumer);
    group.add(consumer);
    return { close: () => this.#closeConsumer(consumer) };
  }

  #closeConsumer(consumer: Consumer): Promise<void> {
    consumer.closing ??= (async () => {
      consumer.group.remove(consumer);
      if (consumer.inFlight.size > 0) {
        await new Promise<void>((resolve) => {
          consumer.idle = resolve;
        });
      }
      this.#consumers.delete(consumer);
    })();
    return consumer.closing;
  }

  async deadLetters(
    channel: string,
    options: { group?: string; limit?: number } = {},
  ): Promise<DeadLetter[]> {
    this.#lifecycle.assertOpen('list dead letters');
    checkChannelName(ADAPTER, 'channel', channel);
    const letters = this.#state.deadLetters(channel, options.group);
    const limited = options.limit === undefined ? letters : letters.slice(0, Math.max(0, options.limit));
    return limited.map(({ sent: _sent, ...letter }) => letter);
  }

  async redrive(channel: string, options: { group?: string; ids?: readonly string[] } = {}): Promise<number> {
    this.#lifecycle.assertOpen('redrive');
    checkChannelName(ADAPTER, 'channel', channel);
    return this.#state.redrive(channel, options.group, options.ids);
  }

  async depth(channel: string, options: { group?: string } = {}): Promise<number> {
    this.#lifecycle.assertOpen('read depth');
    checkChannelName(ADAPTER, 'channel', channel);
    return this.#state.depth(channel, options.group);
  }

  /** See `crashMemoryTransport` in `@finaegis/memory/testing`. */
  [CRASH](): void {
    void this.#lifecycle.close(() => Promise.resolve());
    for (const consumer of this.#consumers) {
      consumer.closing ??= Promise.resolve();
      consumer.group.abandon(consumer);
    }
    this.#consumers.clear();
    if (this.#ownsBroker) this.broker.close();
  }

  close(): Promise<void> {
    // Sends are accepted synchronously, so none is pending: draining the consumers is all there is.
    return this.#lifecycle.close(async () => {
      await Promise.all([...this.#consumers].map((consumer) => this.#closeConsumer(consumer)));
      if (this.#ownsBroker) this.broker.close();
    });
  }
}

/** Creates an in-memory transport (see {@link MemoryTransport}). */
export function createMemoryTransport(options: MemoryTransportOptions = {}): MemoryTransport {
  return new MemoryTransportImpl(options);
}

/**
 * @internal Simulates the process of `transport` dying (`@finaegis/memory/testing` exports it).
 * @throws InvalidArgumentError when `transport` was not made by `createMemoryTransport`.
 */
export function crashTransport(transport: MemoryTransport): void {
  const crash = (transport as Partial<Pick<MemoryTransportImpl, typeof CRASH>>)[CRASH];
  if (typeof crash !== 'function') {
    throw new InvalidArgumentError(ADAPTER, 'transport', 'must be made by createMemoryTransport');
  }
  crash.call(transport);
}

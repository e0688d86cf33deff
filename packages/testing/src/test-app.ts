import {
  type Cqrs,
  createCqrs,
  type DeadLetter,
  type DomainConfig,
  type Logger,
  MessageRegistry,
  type Middleware,
  type Projection,
  type Projector,
  silentLogger,
  type WorkerOptions,
} from '@finaegis/core';
import { createTestAdapters, type TestAdapters, type TestAdaptersOptions } from './test-adapters';

/** Options of {@link createTestApp}. */
export interface TestAppOptions extends TestAdaptersOptions {
  /** Default `defineConfig()` (channels `commands` and `events`). */
  readonly config?: DomainConfig;
  /**
   * The worker started with the app (group `workers` unless given), or `false` for none (then async
   * messages wait until the test starts one with `app.startWorker()`).
   */
  readonly worker?: WorkerOptions | false;
  /** More middleware, after the recording one. */
  readonly middleware?: readonly Middleware[];
  /** Default: a new registry. */
  readonly registry?: MessageRegistry;
  /** Default `silentLogger`. */
  readonly logger?: Logger;
}

/**
 * An app on the memory adapters for tests: the buses of `createCqrs` (so `app.commandBus`,
 * `app.eventBus`, `app.queryBus` are the real ones), a worker, a clock moved by hand, `idle()`,
 * and a record of what was dispatched, published, sent, handled and cached for the assertions
 * (`expect(app).toHavePublished(...)`, `assertPublished(app, ...)`).
 */
export interface TestApp
  extends Cqrs,
    Omit<TestAdapters, 'project' | 'detach' | 'memoryTransport' | 'middleware'> {
  /** The memory transport under the recording one. */
  readonly memoryTransport: TestAdapters['memoryTransport'];
  /** Keeps `projection` caught up on every `idle()`; returns its projector. */
  project(projection: Projection): Projector;
  /** Dead letters of the command and event channels, oldest first. */
  deadLetters(): Promise<DeadLetter[]>;
}

/**
 * Creates a {@link TestApp} and starts its worker. Close it in `afterEach` (`await app.close()`).
 *
 * ```ts
 * const app = await createTestApp();
 * app.commandBus.register(PlaceOrder, async (c) => { await app.eventBus.publishAsync(new OrderPlaced(c.pair)) });
 * await app.commandBus.dispatchAsync(new PlaceOrder('BTC/USD'), { delay: 30 });
 * await app.advance(30_000);
 * expect(app).toHavePublished(OrderPlaced, { pair: 'BTC/USD' });
 * ```
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const kit = createTestAdapters(options);
  const { adapters } = kit;
  const registry = options.registry ?? new MessageRegistry();
  const cqrs = createCqrs({
    ...(options.config === undefined ? {} : { config: options.config }),
    transport: adapters.transport,
    cache: adapters.cache,
    transactionManager: adapters.transactionManager,
    logger: options.logger ?? silentLogger,
    middleware: [kit.middleware, ...(options.middleware ?? [])],
    registry,
  });
  try {
    if (options.worker !== false) await cqrs.startWorker(options.worker ?? {});
  } catch (error) {
    kit.detach();
    await cqrs.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const app: TestApp = {
    ...cqrs,
    clock: kit.clock,
    adapters,
    memoryTransport: kit.memoryTransport,
    get dispatched() {
      return kit.dispatched;
    },
    get published() {
      return kit.published;
    },
    get sent() {
      return kit.sent;
    },
    get handled() {
      return kit.handled;
    },
    get cacheWrites() {
      return kit.cacheWrites;
    },
    isLive: kit.isLive,
    idle: kit.idle,
    advance: kit.advance,
    dispatchedOf: kit.dispatchedOf,
    publishedOf: kit.publishedOf,
    sentOf: kit.sentOf,
    clearRecords: kit.clearRecords,
    project: (projection) => kit.project(projection, { registry }),
    async deadLetters() {
      const channels = [cqrs.config.commandBus.asyncQueue, cqrs.config.eventBus.asyncQueue];
      const letters = await Promise.all(channels.map((channel) => adapters.transport.deadLetters(channel)));
      return letters.flat().sort((a, b) => a.failedAt - b.failedAt);
    },
    close() {
      closing ??= (async () => {
        kit.detach();
        await cqrs.close();
        await adapters.eventStore.close();
      })();
      return closing;
    },
  };
  return app;
}

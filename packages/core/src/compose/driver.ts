import type { DomainConfig } from '../config';
import type { CacheStore } from '../ports/cache-store';
import type { CheckpointStore, EventStore } from '../ports/event-store';
import type { HealthCheck } from '../ports/health';
import type { Logger } from '../ports/logger';
import type { TransactionManager } from '../ports/transaction-manager';
import type { Transport } from '../ports/transport';

/** What a driver gets to build its adapter: the whole configuration and the app's logger. */
export interface DriverContext {
  readonly config: DomainConfig;
  /** The app's logger, already filtered by `config.logLevel`. */
  readonly logger: Logger;
}

/**
 * The event store side of an app, as one driver builds it: the stores and the transaction manager
 * share one connection (pool), and an outbox relay may come with them.
 */
export interface Persistence {
  readonly eventStore: EventStore;
  readonly transactionManager: TransactionManager;
  readonly checkpointStore: CheckpointStore;
  /**
   * Whether `transactionManager` writes async messages sent inside a transaction to an outbox
   * (committed with the transaction), for a relay to send after commit.
   */
  readonly outbox: boolean;
  /** Starts a relay that moves committed outbox rows to `transport`. Offered when `outbox` is. */
  startRelay?(transport: Transport, logger: Logger): Promise<Relay>;
  /** Closes the stores, the transaction manager, then what they share (the pool). Idempotent. */
  close(): Promise<void>;
}

/** An outbox relay running in this process. */
export interface Relay {
  /** Whether its loop runs and its database answers. Never rejects. */
  health(): Promise<readonly HealthCheck[]>;
  /**
   * Sends what is due in the outbox now, round after round, until a round finds nothing or
   * `deadline` (ms since the epoch) passes. Resolves with the rows sent.
   */
  flush(deadline: number): Promise<number>;
  /** Stops the loop after its round in flight. Idempotent. */
  stop(): Promise<void>;
}

/**
 * What an adapter package offers `composeCqrs()`: factories keyed by the configuration value they
 * serve (`QUEUE_CONNECTION`, `CACHE_DRIVER`, `EVENT_STORE`). Each adapter package exports one
 * (`memoryDriver`, `bullmqDriver`, `kafkaDriver`, `keyvDriver`, `postgresDriver`).
 *
 * A factory builds its adapter from `context.config` (connection URLs and `config.adapters`). It
 * may connect lazily; what it opened, the adapter's `close()` (or `Persistence.close()`) closes.
 */
export interface Driver {
  /** The package offering the driver, for messages (`@finaegis/kafka`). */
  readonly package: string;
  /** Transports by `QUEUE_CONNECTION` value. */
  readonly transports?: Readonly<Record<string, (context: DriverContext) => Transport | Promise<Transport>>>;
  /** Cache stores by `CACHE_DRIVER` value. */
  readonly caches?: Readonly<Record<string, (context: DriverContext) => CacheStore | Promise<CacheStore>>>;
  /** Event store sides by `EVENT_STORE` value. */
  readonly persistence?: Readonly<Record<string, (context: DriverContext) => Promise<Persistence>>>;
}

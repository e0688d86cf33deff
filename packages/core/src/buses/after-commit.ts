import { ConfigError } from '../errors/config-error';
import { EventHandlingError } from '../errors/event-handling-error';
import type { DomainEvent } from '../messages';
import type { Logger } from '../ports/logger';
import type { SendOptions, Transport, TransportMessage } from '../ports/transport';
import type { PendingSend } from './unit-of-work';

/** A message held by a committed unit of work that could not be sent. */
export interface UndeliveredMessage {
  readonly channel: string;
  /** The message's wire name. */
  readonly messageType: string;
  readonly messageId: string;
  /** How many sends were tried. */
  readonly attempts: number;
  /** The last send's error. */
  readonly error: unknown;
  /** The message itself, so that a hook can park it somewhere and send it later. */
  readonly message: TransportMessage;
  readonly options: SendOptions | undefined;
}

/**
 * What happens to the async messages a committed transaction held when the transaction manager
 * has no outbox (the memory manager, or a third-party one without `enqueue`).
 *
 * Without an outbox the messages live only in this process until they are sent: a crash or a
 * transport that stays down loses them, and this is reported, not prevented. Only an outbox
 * (the PostgreSQL transaction manager) gives the no-loss guarantee.
 */
export interface AfterCommitOptions {
  /** Sends tried per message, the first included. Default 3. */
  readonly attempts?: number;
  /** Milliseconds before the second try, doubled for each further one (at most 5 s). Default 100. */
  readonly backoffMs?: number;
  /**
   * Called once for each message that every try failed to send, after it was logged. What it
   * throws is logged and ignored: the transaction is committed whatever the hook does.
   */
  readonly onUndelivered?: (undelivered: UndeliveredMessage) => void;
}

/** Counters of the after-commit phase, for metrics. */
export interface AfterCommitStats {
  /** Held messages sent after commit (at the first try or a later one). */
  readonly sent: number;
  /** Tries after the first. */
  readonly retried: number;
  /** Held messages given up on (reported through the log and `onUndelivered`). */
  readonly undelivered: number;
  /** In-process subscribers that failed on an event published after its unit of work ended. */
  readonly subscriberFailures: number;
}

const MAX_BACKOFF_MS = 5_000;

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * @internal The after-commit phase: delivers what a committed unit of work held. Nothing in here
 * throws at the caller, whose work is already committed: failures are retried, logged, counted
 * and handed to the hook.
 */
export class AfterCommit {
  readonly #logger: Logger;
  readonly #attempts: number;
  readonly #backoffMs: number;
  readonly #onUndelivered: AfterCommitOptions['onUndelivered'];
  #sent = 0;
  #retried = 0;
  #undelivered = 0;
  #subscriberFailures = 0;

  constructor(logger: Logger, options: AfterCommitOptions = {}) {
    const attempts = options.attempts ?? 3;
    if (!Number.isInteger(attempts) || attempts < 1)
      throw new ConfigError('afterCommit.attempts', attempts, 'an integer of 1 or more');
    const backoffMs = options.backoffMs ?? 100;
    if (!Number.isFinite(backoffMs) || backoffMs < 0)
      throw new ConfigError('afterCommit.backoffMs', backoffMs, 'a number of milliseconds, 0 or more');
    if (options.onUndelivered !== undefined && typeof options.onUndelivered !== 'function')
      throw new ConfigError('afterCommit.onUndelivered', options.onUndelivered, 'a function');
    this.#logger = logger;
    this.#attempts = attempts;
    this.#backoffMs = backoffMs;
    this.#onUndelivered = options.onUndelivered;
  }

  stats(): AfterCommitStats {
    return {
      sent: this.#sent,
      retried: this.#retried,
      undelivered: this.#undelivered,
      subscriberFailures: this.#subscriberFailures,
    };
  }

  /**
   * Sends every held message (each one tried even when an earlier one failed; the failed ones
   * again in rounds with a growing pause), then publishes the held events in process. Resolves
   * when every message was sent or reported undelivered.
   */
  async deliver(
    transport: Transport | undefined,
    sends: readonly PendingSend[],
    events: readonly DomainEvent[],
    publish: (events: readonly DomainEvent[]) => Promise<void>,
  ): Promise<void> {
    if (sends.length > 0) await this.#send(transport, sends);
    if (events.length > 0) await this.publish(events, publish);
  }

  async #send(transport: Transport | undefined, sends: readonly PendingSend[]): Promise<void> {
    let failing: { send: PendingSend; error: unknown }[] = [];
    for (const send of sends) {
      const error = await this.#try(transport, send);
      if (error !== undefined) failing.push({ send, error });
    }
    for (let attempt = 2; attempt <= this.#attempts && failing.length > 0; attempt++) {
      for (const { send, error } of failing) {
        this.#logger.warn('Async send after commit failed, retrying', {
          channel: send.channel,
          type: send.message.type,
          id: send.message.id,
          attempt: attempt - 1,
          error: errorText(error),
        });
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(this.#backoffMs * 2 ** (attempt - 2), MAX_BACKOFF_MS)),
      );
      const still: typeof failing = [];
      for (const { send } of failing) {
        this.#retried += 1;
        const error = await this.#try(transport, send);
        if (error !== undefined) still.push({ send, error });
      }
      failing = still;
    }
    for (const { send, error } of failing) this.#report(send, error);
  }

  /** Sends one message; resolves its error, or `undefined` once it is sent. */
  async #try(transport: Transport | undefined, send: PendingSend): Promise<unknown> {
    try {
      if (transport === undefined) throw new ConfigError('transport', undefined, 'a Transport');
      await transport.send(send.channel, send.message, send.options);
      this.#sent += 1;
      return undefined;
    } catch (error) {
      return error ?? new Error('send failed');
    }
  }

  #report(send: PendingSend, error: unknown): void {
    this.#undelivered += 1;
    this.#logger.error('Async send after commit undelivered', {
      channel: send.channel,
      type: send.message.type,
      id: send.message.id,
      attempts: this.#attempts,
      error: errorText(error),
    });
    if (this.#onUndelivered === undefined) return;
    try {
      this.#onUndelivered({
        channel: send.channel,
        messageType: send.message.type,
        messageId: send.message.id,
        attempts: this.#attempts,
        error,
        message: send.message,
        options: send.options,
      });
    } catch (hookError) {
      this.#logger.error('onUndelivered hook failed', { id: send.message.id, error: errorText(hookError) });
    }
  }

  /**
   * Publishes events whose unit of work has ended. Every event reaches its subscribers; failures
   * are logged (one line per failing subscriber) and counted, never thrown.
   */
  async publish(
    events: readonly DomainEvent[],
    publish: (events: readonly DomainEvent[]) => Promise<void>,
  ): Promise<void> {
    try {
      await publish(events);
    } catch (error) {
      const failures =
        error instanceof EventHandlingError
          ? error.failures
          : [{ eventType: '(publish)', subscriber: '(publish)', error }];
      for (const failure of failures) {
        this.#subscriberFailures += 1;
        this.#logger.error('Subscriber failed after commit', {
          event: failure.eventType,
          subscriber: failure.subscriber,
          error: errorText(failure.error),
        });
      }
    }
  }
}

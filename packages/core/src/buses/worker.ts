import { DEFAULT_RETRY_POLICY } from '../adapter/retry';
import { ConfigError } from '../errors/config-error';
import { EventHandlingError } from '../errors/event-handling-error';
import { MessageDecodeError } from '../errors/message-decode-error';
import { Command, DomainEvent } from '../messages';
import type { ReceivedMessage, RetryPolicy, Subscription } from '../ports/transport';
import type { Inbox } from '../process/inbox';
import type { CommandBus } from './command-bus';
import type { EventBus } from './event-bus';
import { type MiddlewareContext, runPipeline } from './middleware';
import type { BusContext } from './shared';

/** Options of `app.startWorker()`. */
export interface WorkerOptions {
  /** Consumer group of this worker (all workers of one service share it). Default `workers`. */
  readonly group?: string;
  /** Messages handled at once per channel. Default 1. */
  readonly concurrency?: number;
  /** Retry policy handed to the transport. */
  readonly retry?: RetryPolicy;
  /** Which async channels to consume. Default both. */
  readonly channels?: ReadonlyArray<'commands' | 'events'>;
  /**
   * Makes the handlers idempotent: each message runs in a transaction of the app's transaction
   * manager that first records its id in this inbox (consumer `<group>/<channel>`), so the record
   * commits with the handler's effects or not at all. A message already recorded (a redelivery) is
   * acknowledged without running its handler. Needs a transaction manager the inbox belongs to.
   */
  readonly inbox?: Inbox;
}

/** A running worker, as `app.startWorker()` returns it. */
export interface Worker {
  /** Stops consuming after the messages in flight are done. Idempotent. */
  close(): Promise<void>;
}

/** How many event ids a worker remembers the finished subscribers of (for redeliveries). */
const REMEMBERED_EVENTS = 10_000;

/**
 * @internal Consumes the async channels and runs the same handlers through the same buses. Each
 * message runs in its own unit of work (so handlers can record events). For an event redelivered
 * after some subscribers failed, the subscribers that already succeeded in this process are not
 * run again; in another process they may be (delivery is at-least-once).
 */
export async function startWorker(
  context: BusContext,
  commandBus: CommandBus,
  eventBus: EventBus,
  options: WorkerOptions = {},
): Promise<Worker> {
  const transport = context.transport;
  if (transport === undefined) {
    throw new ConfigError('transport', undefined, 'a Transport passed to createCqrs() to start a worker');
  }
  const group = options.group ?? 'workers';
  const channels = options.channels ?? ['commands', 'events'];
  const maxAttempts = (options.retry ?? DEFAULT_RETRY_POLICY).attempts;
  const instrument = context.instrumentation?.consume;
  /** Runs a handling inside the instrumentation's consume hook, when there is one. */
  const observed =
    (kind: 'command' | 'event', handle: (received: ReceivedMessage) => Promise<void>) =>
    (received: ReceivedMessage): Promise<void> =>
      instrument === undefined
        ? handle(received)
        : instrument({ channel: received.channel, group: received.group, kind, received, maxAttempts }, () =>
            handle(received),
          );
  const consumeOptions = {
    group,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
  };
  const done = new Map<string, Set<number>>();
  const inbox = options.inbox;
  if (inbox !== undefined && context.transactionManager === undefined) {
    throw new ConfigError('inbox', inbox.name, 'a transactionManager passed to createCqrs() as well');
  }
  /** Runs `work` in the message's unit of work: a plain one, or a transaction with its inbox record. */
  const unitOf = (received: ReceivedMessage, work: () => Promise<unknown>): (() => Promise<unknown>) =>
    inbox === undefined
      ? () => eventBus.unitOfWork(work)
      : () =>
          commandBus.transaction(async () => {
            if (await inbox.record(`${received.group}/${received.channel}`, received.id)) await work();
          });

  const decode = (received: ReceivedMessage) => context.registry.decode(received.body);

  const handleCommand = async (received: ReceivedMessage): Promise<void> => {
    const message = decode(received);
    if (!(message instanceof Command)) throw new MessageDecodeError(`${received.type} is not a command`);
    const run = unitOf(received, () => commandBus.dispatch(message));
    if (context.middleware.length === 0) {
      await run();
      return;
    }
    const mw: MiddlewareContext = {
      kind: 'command',
      operation: 'consume',
      message,
      messageType: received.type,
      async: false,
    };
    await runPipeline(context.middleware, mw, run);
  };

  const handleEvent = async (received: ReceivedMessage): Promise<void> => {
    const event = decode(received);
    if (!(event instanceof DomainEvent)) throw new MessageDecodeError(`${received.type} is not an event`);
    // With an inbox a failure rolls every subscriber's effects back: all of them run again.
    const finished = inbox === undefined ? (done.get(received.id) ?? new Set<number>()) : new Set<number>();
    const run = unitOf(received, () =>
      eventBus.deliver(
        event,
        eventBus.subscribersOf(event.constructor),
        inbox === undefined ? (s) => finished.add(s.id) : undefined,
        finished,
      ),
    );
    try {
      if (context.middleware.length === 0) await run();
      else {
        const mw: MiddlewareContext = {
          kind: 'event',
          operation: 'consume',
          message: event,
          messageType: received.type,
          async: false,
        };
        await runPipeline(context.middleware, mw, run);
      }
      done.delete(received.id);
    } catch (error) {
      if (error instanceof EventHandlingError && finished.size > 0) {
        done.set(received.id, finished);
        if (done.size > REMEMBERED_EVENTS) done.delete(done.keys().next().value as string);
      }
      throw error;
    }
  };

  const subscriptions: Subscription[] = [];
  try {
    if (channels.includes('commands')) {
      subscriptions.push(
        await transport.consume(
          context.config.commandBus.asyncQueue,
          observed('command', handleCommand),
          consumeOptions,
        ),
      );
    }
    if (channels.includes('events')) {
      subscriptions.push(
        await transport.consume(
          context.config.eventBus.asyncQueue,
          observed('event', handleEvent),
          consumeOptions,
        ),
      );
    }
  } catch (error) {
    await Promise.allSettled(subscriptions.map((s) => s.close()));
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= Promise.all(subscriptions.map((s) => s.close())).then(() => undefined);
      return closing;
    },
  };
}

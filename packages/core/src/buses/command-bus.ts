import { CommandExecutionError } from '../errors/command-execution-error';
import { CommandValidationError } from '../errors/command-validation-error';
import { ConfigError } from '../errors/config-error';
import { HandlerAlreadyRegisteredError } from '../errors/handler-already-registered-error';
import { HandlerNotFoundError } from '../errors/handler-not-found-error';
import { type Command, type MessageClass, messageTypeOf, type ResultOf } from '../messages';
import type { TransactionContext } from '../ports/transaction-manager';
import { validateMessage } from '../validation';
import type { EventBus } from './event-bus';
import { type Handler, makeInvoker } from './handlers';
import { type MiddlewareContext, runPipeline } from './middleware';
import { type AsyncOptions, type BusContext, sendAsync } from './shared';
import { currentUnitOfWork, runInUnitOfWork, UnitOfWork } from './unit-of-work';

interface Entry {
  readonly type: string;
  readonly call: (command: Command<unknown>) => Promise<unknown>;
}

/** Options of `commandBus.register` and `queryBus.register`. */
export interface RegisterOptions {
  /** Replace an existing handler instead of failing with `HandlerAlreadyRegisteredError`. */
  readonly replace?: boolean;
}

/** Options of `dispatchTransaction` and `transaction`. */
export interface TransactionRunOptions {
  /** Seconds; default `commandBus.transactionTimeout` from config. */
  readonly timeout?: number;
}

/** The results of `dispatchTransaction`, one per command, in order. */
export type TransactionResults<T extends readonly Command<unknown>[]> = {
  -readonly [K in keyof T]: ResultOf<T[K]>;
};

function wrapExecutionError(type: string, error: unknown): Error {
  if (error instanceof CommandValidationError || error instanceof CommandExecutionError) return error;
  return new CommandExecutionError(type, error);
}

/**
 * Routes each command to its one handler, in process (`dispatch`), through the transport
 * (`dispatchAsync`), or several in one transaction (`dispatchTransaction`).
 */
export class CommandBus {
  readonly #handlers = new Map<Function, Entry>();
  readonly #context: BusContext;
  readonly #eventBus: EventBus;

  /** @internal Use `createCqrs()`. */
  constructor(context: BusContext, eventBus: EventBus) {
    this.#context = context;
    this.#eventBus = eventBus;
  }

  /**
   * Registers the handler of a command class (a function, an object with `handle()`, or `lazy()`).
   * Also registers the class for (de)serialisation. Does nothing when handlers are disabled.
   * @throws HandlerAlreadyRegisteredError unless `{ replace: true }`.
   */
  register<C extends Command<unknown>>(
    commandClass: MessageClass<C>,
    handler: Handler<C, ResultOf<C>>,
    options: RegisterOptions = {},
  ): this {
    const type = messageTypeOf(commandClass);
    this.#context.registry.register(commandClass);
    if (!this.#context.config.enableHandlers) return this;
    if (this.#handlers.has(commandClass) && options.replace !== true) {
      throw new HandlerAlreadyRegisteredError('command', type);
    }
    const validates =
      typeof commandClass.prototype.validate === 'function' || commandClass.schema !== undefined;
    this.#handlers.set(commandClass, {
      type,
      call: makeInvoker(type, handler as Handler<Command<unknown>, unknown>, validates, wrapExecutionError),
    });
    return this;
  }

  /** Whether a handler is registered for the class. */
  has(commandClass: MessageClass<Command<unknown>>): boolean {
    return this.#handlers.has(commandClass);
  }

  /**
   * Runs the command's handler here and returns its result.
   * @throws HandlerNotFoundError, CommandValidationError, CommandExecutionError (handler error as `cause`).
   */
  dispatch<C extends Command<unknown>>(command: C): Promise<ResultOf<C>> {
    const entry = this.#handlers.get(command.constructor);
    if (entry === undefined) return Promise.reject(this.#notFound(command));
    if (this.#context.middleware.length === 0) return entry.call(command) as Promise<ResultOf<C>>;
    const context: MiddlewareContext = {
      kind: 'command',
      operation: 'dispatch',
      message: command,
      messageType: entry.type,
      async: false,
    };
    return runPipeline(this.#context.middleware, context, () => entry.call(command)) as Promise<ResultOf<C>>;
  }

  #notFound(command: Command<unknown>): Error {
    let type: string;
    try {
      type = messageTypeOf(command);
    } catch (error) {
      return error as Error;
    }
    return new HandlerNotFoundError('command', type, !this.#context.config.enableHandlers);
  }

  /**
   * Validates the command now and sends it to the `commandBus.asyncQueue` channel; a worker runs
   * its handler. Inside a transaction the send is held until commit. Returns the message id.
   * @throws CommandValidationError, UnsupportedFeatureError (e.g. a delay on a transport without it), ConfigError.
   */
  async dispatchAsync(command: Command<unknown>, options: AsyncOptions = {}): Promise<string> {
    const type = messageTypeOf(command);
    const send = async () => {
      await validateMessage(command, type);
      return sendAsync(
        this.#context,
        this.#context.config.commandBus.asyncQueue,
        command,
        'command',
        options,
        undefined,
      );
    };
    if (this.#context.middleware.length === 0) return send();
    const context: MiddlewareContext = {
      kind: 'command',
      operation: 'dispatchAsync',
      message: command,
      messageType: type,
      async: true,
    };
    return (await runPipeline(this.#context.middleware, context, send)) as string;
  }

  /**
   * Runs `work` in one transaction of the configured TransactionManager, inside a unit of work:
   * events recorded or published and async messages sent inside it leave only after commit, and
   * nothing leaves on rollback or timeout.
   *
   * Called inside a running transaction it is a nested transaction (a savepoint, `tx.savepoint`):
   * when `work` fails, its writes, its held events and its held messages are undone, the error is
   * rethrown, and the outer transaction can still commit what it did before and after. A manager
   * without savepoints cannot undo the nested writes alone; the outer transaction then refuses to
   * commit (it rolls back with `UnitOfWorkError`). A nested call uses the outer timeout.
   *
   * After commit the call resolves with the work's result whatever happens next: held messages
   * are sent (tried again on failure; see `AfterCommitOptions`), held events are published in
   * process, and failures there are logged and counted, never thrown.
   * @throws TransactionTimeoutError after `timeout` seconds (the transaction is rolled back).
   */
  async transaction<T>(
    work: (tx: TransactionContext) => Promise<T>,
    options: TransactionRunOptions = {},
  ): Promise<T> {
    const outer = currentUnitOfWork();
    if (outer?.transactional && outer.transaction !== undefined) return this.#nested(outer, work);
    const manager = this.#context.transactionManager;
    if (manager === undefined) {
      throw new ConfigError(
        'transactionManager',
        undefined,
        'a TransactionManager passed to createCqrs() to run transactions',
      );
    }
    const timeout = options.timeout ?? this.#context.config.commandBus.transactionTimeout;
    if (!Number.isFinite(timeout) || timeout <= 0)
      throw new ConfigError('timeout', timeout, 'a number of seconds greater than 0');
    const unit = new UnitOfWork(true);
    let result: T;
    try {
      result = await manager.run(
        (tx) => {
          unit.transaction = tx;
          return runInUnitOfWork(unit, async () => {
            const value = await work(tx);
            unit.assertCommittable();
            return value;
          });
        },
        { timeoutMs: Math.round(timeout * 1000) },
      );
    } catch (error) {
      unit.settle('discarded');
      throw error;
    }
    const held = unit.settle('committed');
    if (held.sends.length > 0 || held.events.length > 0) {
      await this.#context.afterCommit.deliver(this.#context.transport, held.sends, held.events, (events) =>
        this.#eventBus.publishMultiple(events),
      );
    }
    return result;
  }

  /** A transaction inside a running one: a savepoint, with a unit of work of its own. */
  async #nested<T>(outer: UnitOfWork, work: (tx: TransactionContext) => Promise<T>): Promise<T> {
    outer.assertOpen('starting a nested transaction');
    const outerTx = outer.transaction!;
    const child = new UnitOfWork(true);
    const run = (tx: TransactionContext): Promise<T> => {
      child.transaction = tx;
      return runInUnitOfWork(child, async () => {
        const value = await work(tx);
        // A failure nested deeper that could not be undone alone fails this level too.
        child.assertCommittable();
        return value;
      });
    };
    let result: T;
    try {
      result = outerTx.savepoint === undefined ? await run(outerTx) : await outerTx.savepoint(run);
    } catch (error) {
      child.settle('discarded');
      if (outerTx.savepoint === undefined) outer.markRollbackOnly(error);
      throw error;
    }
    outer.assertOpen('ending a nested transaction');
    outer.adopt(child);
    return result;
  }

  /**
   * Dispatches the commands in order in one transaction (all or nothing) and returns their
   * results in order. The guide's `dispatchTransaction`, with the timeout it promised.
   */
  dispatchTransaction<const T extends readonly Command<unknown>[]>(
    commands: T,
    options: TransactionRunOptions = {},
  ): Promise<TransactionResults<T>> {
    return this.transaction(async () => {
      const results: unknown[] = [];
      for (const command of commands) results.push(await this.dispatch(command));
      return results as TransactionResults<T>;
    }, options);
  }
}

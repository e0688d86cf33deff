/**
 * The Inbox port: makes a consumer idempotent. Delivery is at-least-once, so a handler sees some
 * messages twice; with an inbox the worker records each message id in the same transaction as the
 * handler's effects, and a message whose id is already recorded is acknowledged without running
 * the handler again (`WorkerOptions.inbox`).
 */
export interface Inbox {
  /** Adapter name, e.g. `postgres`. */
  readonly name: string;

  /**
   * Records, in the transaction running in the current async context, that `consumer` handled
   * `messageId`. Resolves `true` when this is the first record, `false` when a committed
   * transaction already recorded it (the message is a redelivery: skip it). When another open
   * transaction is recording the same id, waits for it to end first (and resolves `true` if it
   * rolled back).
   * @throws UnitOfWorkError outside a transaction of the inbox's transaction manager: a record
   *   that commits apart from the effects would make a crash lose the message.
   * @throws InvalidArgumentError for an empty consumer or message id.
   */
  record(consumer: string, messageId: string): Promise<boolean>;
}

import { Command, DomainEvent } from '@finaegis/core';

/** Asks the worker to write `command:<tag>` → its pid into the marks hash. */
export class MarkHandled extends Command<void> {
  static readonly messageType = 'test.MarkHandled';
  constructor(readonly tag: string) {
    super();
  }
}

/** Its subscriber writes `event:<tag>` → its pid into the marks hash. */
export class Marked extends DomainEvent {
  static readonly messageType = 'test.Marked';
  constructor(readonly tag: string) {
    super({ aggregateId: tag, aggregateType: 'Mark' });
  }
}

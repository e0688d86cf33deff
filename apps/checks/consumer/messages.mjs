// The messages of the consumer app the packaging and composition checks install outside the
// workspace. Plain JavaScript, as a user of the published packages may write it.
import { Command, DomainEvent, Query } from '@finaegis/core';

export class Deposit extends Command {
  static messageType = 'consumer.Deposit';
  constructor(account, amount) {
    super();
    this.account = account;
    this.amount = amount;
  }
}

export class Deposited extends DomainEvent {
  static messageType = 'consumer.Deposited';
  constructor(account, amount, init = {}) {
    super({ aggregateId: account, aggregateType: 'account', ...init });
    this.account = account;
    this.amount = amount;
  }
}

export class Balance extends Query {
  static messageType = 'consumer.Balance';
  constructor(account) {
    super();
    this.account = account;
  }
}

/** A unit of work for the shutdown checks: its handler takes `JOB_MS` milliseconds. */
export class Job extends Command {
  static messageType = 'consumer.Job';
  constructor(index) {
    super();
    this.index = index;
  }
}

import { Command, composeCqrs, DomainEvent, Query, shutdownOnSignals } from '@finaegis/core';

class Deposit extends Command<void> {
  static readonly messageType = 'bank.Deposit';
  constructor(
    readonly account: string,
    readonly amount: string,
  ) {
    super();
  }
}
class Deposited extends DomainEvent {
  static readonly messageType = 'bank.Deposited';
  constructor(
    readonly account: string,
    readonly amount: string,
  ) {
    super({ aggregateId: account, aggregateType: 'Account' });
  }
}
class Balance extends Query<string> {
  static readonly messageType = 'bank.Balance';
  constructor(readonly account: string) {
    super();
  }
}

export async function main(): Promise<{ balance: string; ready: boolean; deposited: string[] }> {
  // QUEUE_CONNECTION, CACHE_DRIVER, EVENT_STORE, ... pick the adapters; their packages are found by name.
  const app = await composeCqrs();
  const balances = new Map<string, bigint>();
  const deposited: string[] = [];
  app.commandBus.register(Deposit, async (cmd) => {
    balances.set(cmd.account, (balances.get(cmd.account) ?? 0n) + BigInt(cmd.amount));
    await app.eventBus.publishAsync(new Deposited(cmd.account, cmd.amount));
  });
  app.eventBus.subscribe(Deposited, (e) => void deposited.push(e.amount));
  app.queryBus.register(Balance, (q) => String(balances.get(q.account) ?? 0n));

  await app.startWorker({ group: 'bank-workers', concurrency: 4 });
  const stop = shutdownOnSignals(app); // SIGTERM/SIGINT: stop consuming, finish, flush, close, exit

  await app.dispatchAsync(new Deposit('acct-1', '250')); // through the outbox on PostgreSQL
  while (deposited.length === 0) await new Promise((r) => setTimeout(r, 10));
  const balance = await app.queryBus.askCached(new Balance('acct-1'), { ttl: 60 });
  const { ready } = await app.health(); // { status, ready, live, components: [...] }

  stop();
  await app.shutdown({ reason: 'example done' });
  return { balance, ready, deposited };
}

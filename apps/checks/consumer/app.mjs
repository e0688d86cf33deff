// Builds the whole app from environment variables alone (composeCqrs() reads configFromEnv()),
// then dispatches a command async, lets its handler publish an event async, caches a query, and
// prints what happened as one JSON line. Exits 1 with the error's message when start-up fails.
import { composeCqrs, silentLogger } from '@finaegis/core';
import { Balance, Deposit, Deposited } from './messages.mjs';

const balances = new Map();
let queryRuns = 0;
const events = [];

async function main() {
  const app = await composeCqrs({ logger: silentLogger });
  app.commandBus.register(Deposit, async (command) => {
    balances.set(command.account, (balances.get(command.account) ?? 0n) + BigInt(command.amount));
    await app.eventBus.publishAsync(new Deposited(command.account, command.amount));
  });
  app.eventBus.subscribe(Deposited, (event) => {
    events.push(`${event.account}+${event.amount}`);
  });
  app.queryBus.register(Balance, (query) => {
    queryRuns += 1;
    return String(balances.get(query.account) ?? 0n);
  });
  await app.startWorker({ group: 'consumer', concurrency: 2 });
  const messageId = await app.dispatchAsync(new Deposit('acct-1', '250'));
  const deadline = Date.now() + 90_000;
  while (events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  const first = await app.queryBus.askCached(new Balance('acct-1'));
  const second = await app.queryBus.askCached(new Balance('acct-1'));
  const health = await app.health();
  const report = await app.shutdown({ reason: 'done' });
  console.log(
    JSON.stringify({
      adapters: Object.fromEntries(Object.entries(app.adapters).map(([k, v]) => [k, v.name ?? typeof v])),
      outbox: app.outbox,
      dispatched: typeof messageId === 'string',
      events,
      balances: [first, second],
      queryRuns,
      health: { status: health.status, ready: health.ready, checks: health.components.map((c) => c.status) },
      shutdown: { clean: report.clean, steps: report.steps.map((s) => `${s.step}: ${s.outcome}`) },
    }),
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  process.exit(1);
});

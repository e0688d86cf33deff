// Dead letters and redrive on the memory transport: a handler keeps failing, its message is set
// aside, the fault is fixed, the message is re-driven and handled. Run by the docs build; it must
// print redrive.output.txt.
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, createCqrs, silentLogger } from '@finaegis/core';
import { createMemoryTransport } from '@finaegis/memory';

class SettleTrade extends Command<void> {
  static readonly messageType = 'exchange.SettleTrade';
  constructor(readonly tradeId: string) {
    super();
  }
}

// #region setup
const transport = createMemoryTransport();
const app = createCqrs({ transport, logger: silentLogger });
let ledgerUp = false; // the ledger service is down at first
const settled: string[] = [];
app.commandBus.register(SettleTrade, (command) => {
  if (!ledgerUp) throw new Error('ledger unavailable');
  settled.push(command.tradeId);
});

await app.startWorker({
  group: 'workers',
  retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } }, // two tries, then dead letter
});
await app.commandBus.dispatchAsync(new SettleTrade('t-1'));
// #endregion setup

// Wait (at most 5 s) until the two attempts are spent.
for (let i = 0; i < 500 && (await transport.deadLetters('commands', { group: 'workers' })).length === 0; i++)
  await sleep(10);

// #region inspect
const dead = await transport.deadLetters('commands', { group: 'workers' });
for (const letter of dead) {
  // The message (id, type, body, headers, key), the last error, the attempts made, when it failed.
  console.log(`${letter.message.type} after ${letter.attempts} attempts: ${letter.error.message}`);
}
// #endregion inspect

// #region redrive
ledgerUp = true; // the fault is fixed
const redriven = await transport.redrive('commands', { group: 'workers', ids: dead.map((d) => d.id) });
console.log(`re-drove ${redriven} message(s)`);
// #endregion redrive

for (let i = 0; i < 500 && settled.length === 0; i++) await sleep(10);
console.log(
  `settled ${settled.join(', ')}; dead letters left: ${(await transport.deadLetters('commands')).length}`,
);
await app.close();

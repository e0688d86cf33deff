// Sends JOBS Job commands through a composed app (no worker): the first half at once, then prints
// `half sent` and waits for a `continue` line on its input before sending the rest, SEND_GAP_MS
// apart. Prints `sent <JOBS>` and exits.
import { createInterface } from 'node:readline';
import { composeCqrs, silentLogger } from '@finaegis/core';
import { Job } from './messages.mjs';

const jobs = Number(process.env.JOBS ?? '100');
const gap = Number(process.env.SEND_GAP_MS ?? '5');
const half = Math.floor(jobs / 2);
const app = await composeCqrs({ logger: silentLogger });
for (let index = 0; index < half; index++) await app.dispatchAsync(new Job(index));
const input = createInterface({ input: process.stdin });
const told = new Promise((resolve) => input.on('line', (line) => line === 'continue' && resolve()));
process.stdout.write('half sent\n');
await told;
input.close();
for (let index = half; index < jobs; index++) {
  await app.dispatchAsync(new Job(index));
  if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap));
}
await app.close();
process.stdout.write(`sent ${jobs}\n`);

// Sends JOBS Job commands through a composed app (no worker), SEND_GAP_MS apart, then exits.
import { composeCqrs, silentLogger } from '@finaegis/core';
import { Job } from './messages.mjs';

const jobs = Number(process.env.JOBS ?? '100');
const gap = Number(process.env.SEND_GAP_MS ?? '5');
const app = await composeCqrs({ logger: silentLogger });
for (let index = 0; index < jobs; index++) {
  await app.dispatchAsync(new Job(index));
  if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap));
}
await app.close();
process.stdout.write(`sent ${jobs}\n`);

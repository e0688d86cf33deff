// A worker process for the shutdown checks: handles Job commands (each takes JOB_MS), printing
// `start <index>` and `done <index>` lines, and shuts down gracefully on SIGTERM with the published
// helper. Prints `ready` once it consumes.
import { composeCqrs, shutdownOnSignals, silentLogger } from '@finaegis/core';
import { Job } from './messages.mjs';

const jobMs = Number(process.env.JOB_MS ?? '40');
const app = await composeCqrs({ logger: silentLogger });
app.commandBus.register(Job, async (job) => {
  process.stdout.write(`start ${job.index}\n`);
  await new Promise((resolve) => setTimeout(resolve, jobMs));
  process.stdout.write(`done ${job.index}\n`);
});
shutdownOnSignals(app, {
  after: () => process.stdout.write('stopped\n'),
});
await app.startWorker({ group: 'jobs', concurrency: 4, channels: ['commands'] });
process.stdout.write('ready\n');

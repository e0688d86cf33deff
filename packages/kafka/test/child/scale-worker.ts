// One consumer process of the scale-out test: consumes a channel in a group and reports on stdout
// what it handled (`handled <name> <id>` lines). SIGTERM closes it gracefully; SIGKILL is a crash.
import { createKafkaTransport } from '../../src/index';

const [brokers, prefix, channel, group, name] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const transport = createKafkaTransport({
  brokers,
  topicPrefix: prefix,
  partitions: 6,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 8_000,
});

const subscription = await transport.consume(
  channel,
  async (message) => {
    // A little work per event, so that the run lasts long enough to stop a consumer midway.
    await new Promise((resolve) => setTimeout(resolve, 1));
    // Written before the handler resolves (pipe writes are synchronous on Linux), so that an id
    // whose offset gets committed has always been reported, even if the process is killed next.
    process.stdout.write(`handled ${name} ${message.id}\n`);
  },
  { group, concurrency: 8 },
);
process.stdout.write('ready\n');

process.once('SIGTERM', async () => {
  await subscription.close();
  await transport.close();
  process.stdout.write('closed\n', () => process.exit(0));
});

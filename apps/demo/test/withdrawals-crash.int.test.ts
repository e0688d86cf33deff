// The done-when of issue #20: 1,000 withdrawals on PostgreSQL with BullMQ and with Kafka, the payout
// provider paying, paying slowly (past the timeout), failing and never answering, and a worker
// SIGKILLed in the middle of the run: every withdrawal ends in exactly one terminal state (0 stuck),
// none is settled or released twice, and the balances reconcile.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseAmount } from '../src/decimal';
import { behaviourOf } from '../src/withdrawals/provider';
import {
  dropSchema,
  type NodeOptions,
  prepareSchema,
  removeKafkaPrefix,
  startWithdrawalNode,
  type WithdrawalNode,
} from './fixtures/withdrawal-node';
import { eventually, removeRedisPrefix } from './helpers';

const WITHDRAWALS = 1000;
const demoDir = resolve(import.meta.dirname, '..');
const id = randomBytes(4).toString('hex');
const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Starts a worker process; resolves once it consumes. */
function startWorker(options: Omit<NodeOptions, 'role'>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/withdrawal-worker-child.ts'], {
    cwd: demoDir,
    env: { ...process.env, WITHDRAWAL_NODE: JSON.stringify(options) },
  });
  children.push(child);
  let output = '';
  return new Promise((ready, fail) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker ready')) ready(child);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code, signal) =>
      fail(new Error(`worker exited (${code ?? signal}) before ready:\n${output}`)),
    );
  });
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', () => done());
  });
}

describe.each(['bullmq', 'kafka'] as const)(
  'withdrawals on %s and PostgreSQL, a worker SIGKILLed mid-run',
  (queue) => {
    test(`${WITHDRAWALS} withdrawals: 0 stuck, 0 double-settled, balances reconciled`, async () => {
      const schema = `wd_crash_${queue}_${id}`;
      const prefix = `wd-crash-${queue}-${id}`;
      await prepareSchema(schema);
      cleanups.push(() => dropSchema(schema));
      cleanups.push(() => (queue === 'bullmq' ? removeRedisPrefix(prefix) : removeKafkaPrefix(prefix)));
      const options = {
        queue,
        schema,
        prefix,
        payoutTimeoutSeconds: 2,
        provider: { slowMs: 3_000 },
        concurrency: 12,
      };
      const front: WithdrawalNode = await startWithdrawalNode({ ...options, role: 'front' });
      cleanups.push(() => front.close());
      const [first, second] = await Promise.all([startWorker(options), startWorker(options)]);

      const book = front.withdrawals.book;
      const accounts = ['alice', 'bob', 'carol', 'dave'];
      for (const account of accounts)
        await book.open(account, parseAmount(account === 'dave' ? '300' : '100000'));
      // Kill one worker while the run is in full swing (requests still arriving, a fifth ended), and
      // start a replacement, as a supervisor would.
      const killed = (async () => {
        await eventually(async () => {
          const counts = await front.withdrawals.processes.counts(front.withdrawals.definition);
          return counts.completed >= WITHDRAWALS / 5 ? counts : undefined;
        }, 120_000);
        first.kill('SIGKILL');
        await stopped(first);
        const at = await front.withdrawals.processes.counts(front.withdrawals.definition);
        await startWorker(options);
        return at;
      })();
      const ids: string[] = [];
      for (let index = 0; index < WITHDRAWALS; index++) {
        const account = accounts[index % accounts.length]!;
        ids.push(
          await front.withdrawals.request(account, `${(index % 13) + 1}.75`, `wd-${queue}-${id}-${index}`),
        );
      }
      const mix = new Map<string, number>();
      for (const withdrawalId of ids)
        mix.set(behaviourOf(withdrawalId), (mix.get(behaviourOf(withdrawalId)) ?? 0) + 1);
      expect(mix.size).toBe(4);
      const before = await killed;
      // Mid-run: withdrawals were in flight when the worker died.
      expect(before.running).toBeGreaterThan(0);

      const result = await eventually(async () => {
        const r = await front.withdrawals.reconcile();
        return r.withdrawals === WITHDRAWALS && r.stuck === 0 ? r : undefined;
      }, 400_000);
      expect(result.stuck).toBe(0);
      expect(result.doubleSettled).toBe(0);
      expect(result.mismatched).toBe(0);
      expect(result.balanced).toBe(true);
      expect(result.reservedLeft).toBe(0n);
      expect(
        (result.byStage.settled ?? 0) + (result.byStage.released ?? 0) + (result.byStage.rejected ?? 0),
      ).toBe(WITHDRAWALS);
      expect(result.byStage.rejected ?? 0).toBeGreaterThan(0);
      console.info(
        `[withdrawals-crash ${queue}] killed at ${before.completed}/${WITHDRAWALS} completed; ends: ${JSON.stringify(result.byStage)}; provider mix: ${JSON.stringify(Object.fromEntries(mix))}; paid out ${result.settled}`,
      );
      second.kill('SIGTERM');
      await stopped(second);
    });
  },
);

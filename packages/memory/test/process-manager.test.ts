import {
  type MessageScheduler,
  type ProcessDetails,
  ProcessError,
  ProcessTimeout,
  type Transport,
  type TransportMessage,
  UnsupportedFeatureError,
} from '@finaegis/core';
import { afterEach, describe, expect, expectTypeOf, test } from 'vitest';
import { createMemoryTransport } from '../src/index';
import { until } from './helpers';
import {
  FundsReserved,
  faults,
  PayoutConfirmed,
  PayoutRejected,
  PayoutRequested,
  type PayoutState,
  type PayoutWorld,
  payoutProcess,
  payoutTimeout,
  payoutWorld,
  Tick,
} from './process-fixtures';

const worlds: PayoutWorld[] = [];
async function world(options: Parameters<typeof payoutWorld>[0] = {}): Promise<PayoutWorld> {
  const made = await payoutWorld(options);
  worlds.push(made);
  return made;
}

afterEach(async () => {
  faults.reservedStepThrows = false;
  payoutTimeout.seconds = 0.05;
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

const stageOf = async (w: PayoutWorld, id: string) =>
  (await w.processes.get(payoutProcess, id))?.state?.stage;

describe('a process manager on the memory adapters', () => {
  test('an event starts a process; its commands run; it settles and completes', async () => {
    payoutTimeout.seconds = 30;
    const w = await world();
    await w.app.eventBus.publish(new PayoutRequested('w1', '25.00'));
    await until(() => w.commands.includes('pay w1'), 'the payout to be sent');
    expect(await stageOf(w, 'w1')).toBe('paying');
    await w.app.eventBus.publish(new PayoutConfirmed('w1'));
    await until(() => w.commands.includes('settle w1'), 'the settlement');
    const details = await w.processes.get(payoutProcess, 'w1');
    expect(details?.status).toBe('completed');
    expect(details?.state?.requestedAt).toBeInstanceOf(Date);
    expect(details?.history.map((entry) => entry.kind)).toEqual(['started', 'handled', 'handled']);
    expect(details?.history.map((entry) => entry.messageType)).toEqual([
      'test.PayoutRequested',
      'test.FundsReserved',
      'test.PayoutConfirmed',
    ]);
    expect(details?.timeouts).toEqual({});
    expect(w.commands).toEqual(['reserve w1', 'pay w1', 'settle w1']);
  });

  test('a payout that never answers is released when its timeout fires', async () => {
    const w = await world();
    await w.app.eventBus.publish(new PayoutRequested('w2', '10.00'));
    await until(() => w.commands.includes('release w2 timeout'), 'the release on timeout');
    const details = await w.processes.get(payoutProcess, 'w2');
    expect(details?.status).toBe('completed');
    expect(details?.state?.stage).toBe('released');
    expect(details?.history.at(-1)?.kind).toBe('timeout');
    expect(details?.history.at(-1)?.messageType).toBe('finaegis.ProcessTimeout');
  });

  test('a timeout that arrives after the process ended is ignored, not an error', async () => {
    payoutTimeout.seconds = 0.3;
    const w = await world();
    await w.app.eventBus.publish(new PayoutRequested('w3', '10.00'));
    await until(() => w.commands.includes('pay w3'));
    await w.app.eventBus.publish(new PayoutRejected('w3', 'closed account'));
    // Ends before the timeout fires; the timeout message still arrives and changes nothing.
    await until(() => w.processes.stats().ignored['stale-timeout'] + w.processes.stats().ignored.ended >= 1);
    const details = await w.processes.get(payoutProcess, 'w3');
    expect(details?.state?.stage).toBe('released');
    expect(details?.history).toHaveLength(3);
    expect(w.commands.filter((c) => c.startsWith('release'))).toEqual(['release w3 closed account']);
    expect(w.processes.stats().failures).toBe(0);
  });

  test('a redelivered event is recognised by its id and handled once', async () => {
    payoutTimeout.seconds = 30;
    const w = await world();
    const requested = new PayoutRequested('w4', '1.00');
    await w.app.eventBus.publish(requested);
    await w.app.eventBus.publish(requested);
    await until(() => w.commands.includes('pay w4'));
    const confirmed = new PayoutConfirmed('w4');
    await Promise.all([w.app.eventBus.publish(confirmed), w.app.eventBus.publish(confirmed)]);
    await until(() => w.commands.includes('settle w4'));
    expect(w.commands.filter((c) => c === 'reserve w4')).toHaveLength(1);
    expect(w.commands.filter((c) => c === 'settle w4')).toHaveLength(1);
    expect(w.processes.stats().ignored.duplicate + w.processes.stats().ignored.ended).toBeGreaterThanOrEqual(
      2,
    );
  });

  test('concurrent events for one process never lose an update', async () => {
    payoutTimeout.seconds = 30;
    const w = await world({ concurrency: { attempts: 50 } });
    await w.app.eventBus.publish(new PayoutRequested('w5', '1.00'));
    await Promise.all(Array.from({ length: 40 }, () => w.app.eventBus.publish(new Tick('w5'))));
    const details = await w.processes.get(payoutProcess, 'w5');
    expect(details?.state?.ticks).toBe(40);
    expect(details?.history.filter((entry) => entry.messageType === 'test.Tick')).toHaveLength(40);
    expect(w.processes.stats().conflicts).toBeGreaterThan(0);
  });

  test('a failing step leaves the process failed with its error; later events are parked; retry runs them', async () => {
    payoutTimeout.seconds = 30;
    faults.reservedStepThrows = true;
    const w = await world();
    await w.app.eventBus.publish(new PayoutRequested('w6', '5.00'));
    await until(async () => (await w.processes.get(payoutProcess, 'w6'))?.status === 'failed', 'the failure');
    const failed = (await w.processes.list({ status: 'failed' }))[0]!;
    expect(failed.processId).toBe('w6');
    expect(failed.failure?.error).toMatchObject({
      name: 'TypeError',
      message: 'payout provider address missing',
    });
    expect(failed.failure?.message?.type).toBe('test.FundsReserved');
    // The failed step sent nothing: its commands were rolled back with it.
    expect(w.commands).toEqual(['reserve w6']);
    await w.app.eventBus.publish(new Tick('w6'));
    expect((await w.processes.get(payoutProcess, 'w6'))?.parked.map((m) => m.type)).toEqual(['test.Tick']);
    expect(await w.processes.counts(payoutProcess)).toEqual({
      running: 0,
      completed: 0,
      failed: 1,
      compensated: 0,
    });

    faults.reservedStepThrows = false;
    const retried = await w.processes.retry(payoutProcess, 'w6');
    expect(retried.status).toBe('running');
    expect(retried.parked).toEqual([]);
    expect((retried.state as PayoutState).ticks).toBe(1);
    await until(() => w.commands.includes('pay w6'));
    const history = (await w.processes.get(payoutProcess, 'w6'))?.history.map((entry) => entry.kind);
    expect(history).toEqual(['started', 'failed', 'parked', 'retried']);
  });

  test('a retry that fails again keeps the process failed with the new error and its parked messages', async () => {
    payoutTimeout.seconds = 30;
    faults.reservedStepThrows = true;
    const w = await world();
    await w.app.eventBus.publish(new PayoutRequested('w7', '5.00'));
    await until(async () => (await w.processes.get(payoutProcess, 'w7'))?.status === 'failed');
    await w.app.eventBus.publish(new Tick('w7'));
    const again = await w.processes.retry(payoutProcess, 'w7');
    expect(again.status).toBe('failed');
    expect(again.parked).toHaveLength(1);
    expect(again.failure?.message?.type).toBe('test.FundsReserved');
    await expect(w.processes.retry(payoutProcess, 'nope')).rejects.toMatchObject({ reason: 'not-found' });
  });

  test('compensate runs the compensation and ends the process; ended processes refuse it', async () => {
    payoutTimeout.seconds = 30;
    faults.reservedStepThrows = true;
    const w = await world();
    await w.app.eventBus.publish(new PayoutRequested('w8', '5.00'));
    await until(async () => (await w.processes.get(payoutProcess, 'w8'))?.status === 'failed');
    const compensated = await w.processes.compensate(payoutProcess, 'w8');
    expect(compensated.status).toBe('compensated');
    await until(() => w.commands.includes('release w8 compensated'));
    const refused = await w.processes.compensate(payoutProcess, 'w8').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ProcessError);
    expect((refused as ProcessError).reason).toBe('ended');
    // Late events for an ended process are ignored.
    await w.app.eventBus.publish(new FundsReserved('w8'));
    expect((await w.processes.get(payoutProcess, 'w8'))?.version).toBe(compensated.version);
  });

  test('events that start nothing and belong to no process are ignored', async () => {
    const w = await world();
    await w.app.eventBus.publish(new PayoutConfirmed('unknown'));
    expect(w.processes.stats().ignored['no-process']).toBe(1);
    expect(await w.processes.list()).toEqual([]);
  });

  test('timeouts go through a scheduler when one is given', async () => {
    payoutTimeout.seconds = 30;
    const scheduled: { channel: string; message: TransportMessage; dueAt: number }[] = [];
    const scheduler: MessageScheduler = {
      name: 'recording',
      async schedule(channel, message, dueAt) {
        scheduled.push({ channel, message, dueAt });
      },
    };
    const w = await world({ scheduler });
    const before = Date.now();
    await w.app.eventBus.publish(new PayoutRequested('w9', '5.00'));
    await until(() => scheduled.length === 1, 'the timeout to be scheduled');
    const [entry] = scheduled;
    expect(entry?.channel).toBe('events');
    expect(entry?.message.key).toBe('w9');
    expect(entry!.dueAt).toBeGreaterThanOrEqual(before + 30_000);
    const timeout = w.app.registry.decode(entry!.message.body);
    expect(timeout).toBeInstanceOf(ProcessTimeout);
    // Delivered when due, it fires like a delayed one.
    await w.app.eventBus.publish(timeout as ProcessTimeout);
    await until(() => w.commands.includes('release w9 timeout'));
  });

  test('without a scheduler, a transport that cannot delay fails the step visibly', async () => {
    const inner = createMemoryTransport();
    const noDelay: Transport = {
      name: 'no-delay',
      features: { ...inner.features, delay: false },
      send: (channel, message, options) => inner.send(channel, message, options),
      consume: (channel, handler, options) => inner.consume(channel, handler, options),
      deadLetters: (channel, options) => inner.deadLetters(channel, options),
      redrive: (channel, options) => inner.redrive(channel, options),
      depth: (channel, options) => inner.depth(channel, options),
      close: () => inner.close(),
    };
    const w = await world({ transport: noDelay });
    await w.app.eventBus.publish(new PayoutRequested('w10', '5.00'));
    await until(async () => (await w.processes.get(payoutProcess, 'w10'))?.status === 'failed');
    const failed = await w.processes.get(payoutProcess, 'w10');
    expect(failed?.failure?.error.name).toBe(UnsupportedFeatureError.name);
  });

  test('the API is typed from the definition', async () => {
    const w = await world();
    const details = await w.processes.get(payoutProcess, 'any');
    expectTypeOf(details).toEqualTypeOf<ProcessDetails<PayoutState> | undefined>();
    expectTypeOf(payoutProcess.onTimeout).parameter(0).toEqualTypeOf<'payout'>();
  });
});

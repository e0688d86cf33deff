import {
  ConfigError,
  createCqrs,
  createProcessManager,
  InvalidArgumentError,
  ProcessError,
  ProcessTimeout,
  silentLogger,
} from '@finaegis/core';
import { createMemoryProcessStore } from '@finaegis/memory';
import { describe, expect, test } from 'vitest';
import { like, processSpec, SpecAssertionError, timePasses } from '../src/index';
import {
  PAYOUT_TIMEOUT_SECONDS,
  PayoutConfirmed,
  PayoutMismatchError,
  PayoutRejected,
  ReleaseFunds,
  ReserveFunds,
  SendPayout,
  SettleFunds,
  WITHDRAWAL_COMMANDS,
  WithdrawalRequested,
  withdrawal,
} from './process-domain';
import './vitest-matchers';

const START = Date.UTC(2030, 0, 1);
const spec = processSpec(withdrawal, { commands: WITHDRAWAL_COMMANDS, startAt: START });
const requested = spec.given(new WithdrawalRequested('w-1', '250'));

describe('a process spec: given events, when time passes, then commands', () => {
  test('when the request arrives, the funds are reserved, the payout sent and the timeout armed', async () => {
    const outcome = await spec
      .when(new WithdrawalRequested('w-1', '250'))
      .thenCommands(new ReserveFunds('w-1', '250'), like(SendPayout, { withdrawalId: 'w-1', amount: '250' }))
      .thenStatus('running')
      .thenState({ stage: 'paying', amount: '250' })
      .thenArmed({ payout: 30_000 });
    expect(outcome.commandsOf(SendPayout).map((c) => c.amount)).toEqual(['250']);
    expect(outcome.app).toHaveSent(ProcessTimeout, { name: 'payout' }, { delayMs: 30_000 });
  });

  test('one ms before the timeout nothing is released', async () => {
    await requested.when(timePasses(29_999)).thenNoCommands().thenStatus('running').thenArmed({ payout: 1 });
  });

  test('when 30 s pass without an answer, the timeout fires and the funds are released', async () => {
    const outcome = await requested
      .when(timePasses(30_000))
      .thenCommands(like(ReleaseFunds, { withdrawalId: 'w-1', why: 'timeout' }))
      .thenStatus('completed')
      .thenState({ stage: 'released' })
      .thenArmed({});
    expect(outcome.app).toHaveDispatched(ReleaseFunds, { why: 'timeout' }, { times: 1, async: true });
    // The history follows the app's clock, not the real time.
    expect(outcome.process?.history.map((h) => [h.kind, h.at - START])).toEqual([
      ['started', 0],
      ['timeout', PAYOUT_TIMEOUT_SECONDS * 1000],
    ]);
    expect(outcome.process?.updatedAt).toBe(START + 30_000);
  });

  test('a confirmation before the timeout completes the process; the late timeout is ignored', async () => {
    const outcome = await requested
      .given(timePasses(10_000))
      .when(new PayoutConfirmed('w-1', '250'), timePasses(30_000))
      .thenCommands(like(SettleFunds, { withdrawalId: 'w-1' }))
      .thenStatus('completed')
      .thenState({ stage: 'settled' });
    expect(outcome.app).not.toHaveDispatched(ReleaseFunds);
    // The timeout message still arrived at 30 s and changed nothing.
    expect(outcome.app.handled.filter((h) => h.type === ProcessTimeout.messageType)).toHaveLength(1);
    expect(outcome.processes.stats().ignored.ended).toBe(1);
    expect(outcome.process?.history.map((h) => [h.kind, h.at - START])).toEqual([
      ['started', 0],
      ['handled', 10_000],
    ]);
  });

  test('a failing step leaves the process failed with its error, and nothing is sent', async () => {
    const outcome = await requested
      .when(new PayoutConfirmed('w-1', '249'))
      .thenNoCommands()
      .thenStatus('failed')
      .thenFailed(PayoutMismatchError, 'paid 249, expected 250')
      .thenState({ stage: 'paying' });
    expect(outcome.process?.failure?.message?.type).toBe('bank.PayoutConfirmed');
    expect(outcome.process?.history.at(-1)).toMatchObject({ kind: 'failed', at: START });
  });

  test('while failed, the timeout is parked; a compensation the definition lacks is refused', async () => {
    const failed = requested.given(new PayoutConfirmed('w-1', '249'));
    await failed
      .when(timePasses(30_000))
      .thenNoCommands()
      .thenFailed('PayoutMismatchError')
      .thenState((_state, process) =>
        expect(process.parked.map((p) => p.type)).toEqual(['finaegis.ProcessTimeout']),
      );
    await failed
      .when(({ processes }) => processes.compensate(withdrawal, 'w-1'))
      .thenError(ProcessError, 'has no compensateWith()');
  });

  test('an operator action is a when step; its refusal is the error then', async () => {
    const outcome = await requested
      .when(({ processes }) => processes.retry(withdrawal, 'w-1'))
      .thenError(ProcessError, 'not failed');
    expect(outcome.error.reason).toBe('not-failed');
    expect(outcome.process?.status).toBe('running');
  });

  test('given a process already running: its state, and timeouts armed on the clock', async () => {
    await spec
      .givenState('w-9', { withdrawalId: 'w-9', amount: '5', stage: 'paying' }, { armed: { payout: 5 } })
      .when(timePasses(5_000))
      .thenCommands(new ReleaseFunds('w-9', 'timeout'))
      .thenStatus('completed');
    await spec
      .givenState('w-9', { withdrawalId: 'w-9', amount: '5', stage: 'paying' })
      .when(new PayoutRejected('w-9', 'account closed'))
      .thenCommands(like(ReleaseFunds, { why: 'account closed' }));
  });

  test('handlers registered in setup run: a provider that answers completes the process', async () => {
    const answered = processSpec(withdrawal, {
      commands: WITHDRAWAL_COMMANDS,
      setup: (app) =>
        app.commandBus.register(SendPayout, async (c) => {
          await app.eventBus.publishAsync(new PayoutConfirmed(c.withdrawalId, c.amount));
        }),
    });
    await answered
      .when(new WithdrawalRequested('w-2', '10'))
      .thenCommands(like(ReserveFunds), like(SendPayout), like(SettleFunds, { withdrawalId: 'w-2' }))
      .thenStatus('completed');
  });
});

describe('a process spec that does not hold fails, saying why', () => {
  test('other commands than expected', async () => {
    const error = await requested
      .when(timePasses(30_000))
      .thenCommands(like(ReleaseFunds, { why: 'rejected' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpecAssertionError);
    expect((error as Error).message).toMatch(/command 1: why: expected 'rejected', got 'timeout'/);
    await expect(requested.when(timePasses(30_000)).thenNoCommands()).rejects.toThrow(
      /command 1 was not expected \(bank\.ReleaseFunds/,
    );
    await expect(requested.when(timePasses(1)).thenCommandsInclude(like(SettleFunds))).rejects.toThrow(
      /expected command 1 \(bank\.SettleFunds like \{\}\) is not among them/,
    );
  });

  test('another status, state, failure or armed timeouts', async () => {
    await expect(requested.when(timePasses(1)).thenStatus('completed')).rejects.toThrow(
      /expected the process to be completed, it is running\n {2}history: started bank\.WithdrawalRequested/,
    );
    await expect(requested.when(timePasses(1)).thenState({ stage: 'settled' })).rejects.toThrow(
      /the process state is not as expected: stage: expected 'settled', got 'paying'/,
    );
    await expect(requested.when(timePasses(1)).thenFailed()).rejects.toThrow(
      /expected the process to have failed with an error, it is running/,
    );
    await expect(requested.when(new PayoutConfirmed('w-1', '1')).thenFailed(TypeError)).rejects.toThrow(
      /failed with TypeError, it failed with PayoutMismatchError: \[bank\] paid 1/,
    );
    await expect(
      requested.when(new PayoutConfirmed('w-1', '1')).thenFailed(PayoutMismatchError, /expected 9/),
    ).rejects.toThrow(/message to match \/expected 9\//);
    await expect(requested.when(timePasses(1)).thenArmed({ payout: 30_000 })).rejects.toThrow(
      /payout: expected 30000, got 29999/,
    );
  });

  test('a command of a class the spec was not given', async () => {
    const narrow = processSpec(withdrawal, { commands: [ReserveFunds, SendPayout] });
    await expect(
      narrow.given(new WithdrawalRequested('w-1', '1')).when(timePasses(30_000)).thenNoCommands(),
    ).rejects.toThrow(
      /bank\.ReleaseFunds was sent, but it is not among the command classes given to the spec/,
    );
  });

  test('no process, or several without an id', async () => {
    await expect(spec.when(timePasses(1)).thenStatus('running')).rejects.toThrow(
      /expected status running: no bank\.Withdrawal process was started/,
    );
    const two = spec.given(new WithdrawalRequested('w-1', '1'), new WithdrawalRequested('w-2', '1'));
    await expect(two.when(timePasses(1)).thenStatus('running')).rejects.toThrow(
      /2 bank\.Withdrawal processes exist \("w-\d", "w-\d"\): name the one to check with the `id` option/,
    );
    const second = processSpec(withdrawal, { commands: WITHDRAWAL_COMMANDS, id: 'w-2' });
    await second
      .given(new WithdrawalRequested('w-1', '1'), new WithdrawalRequested('w-2', '7'))
      .when(new PayoutConfirmed('w-2', '7'))
      .thenCommands(new SettleFunds('w-2'))
      .thenStatus('completed');
  });

  test('a when step that throws, unless thenError expects it; a given step that throws', async () => {
    const boom = () => {
      throw new RangeError('boom');
    };
    await expect(requested.when(boom).thenStatus('running')).rejects.toThrow(
      /a when step threw RangeError: boom/,
    );
    await expect(requested.when(timePasses(1)).thenError(RangeError)).rejects.toThrow(
      /expected RangeError to be thrown, but nothing was thrown/,
    );
    await expect(requested.given(boom).when(timePasses(1)).thenNoCommands()).rejects.toThrow(
      /given step 2 \(a function\) threw RangeError: boom/,
    );
    await expect(
      requested
        .givenState('w-1', { withdrawalId: 'w-1', amount: '1', stage: 'paying' })
        .when()
        .thenNoCommands(),
    ).rejects.toThrow(/given step 2 \(givenState\("w-1"\)\) threw ConcurrencyError/);
  });

  test('checks chained after the spec was awaited are refused', async () => {
    const pending = requested.when(timePasses(1)).thenNoCommands();
    const outcome = await pending;
    expect(() => pending.thenStatus('running')).toThrow(/must be chained before the spec is awaited/);
    expect(outcome.thenStatus('running')).toBe(outcome);
  });

  test('bad arguments are refused where they are given', () => {
    expect(() => processSpec({} as never, { commands: [] })).toThrow(InvalidArgumentError);
    expect(() => processSpec(withdrawal, { commands: [1] as never })).toThrow(/commands/);
    expect(() => processSpec(withdrawal, { commands: [], id: '' })).toThrow(/id/);
    expect(() => processSpec(withdrawal, { commands: [], startAt: Number.NaN })).toThrow(/startAt/);
    expect(() => spec.given('w-1' as never)).toThrow(/given\[0\]/);
    expect(() => spec.when(new ReserveFunds('w-1', '1') as never)).toThrow(/when\[0\]/);
    expect(() => timePasses(-1)).toThrow(/ms/);
    expect(() => spec.givenState('', {} as never)).toThrow(/processId/);
    expect(() => spec.givenState('w-1', {} as never, { armed: { payout: -1 } })).toThrow(/armed\.payout/);
  });
});

describe('the clock option of createProcessManager', () => {
  test('must be a function', async () => {
    const app = createCqrs({ logger: silentLogger });
    expect(() =>
      createProcessManager(app, {
        store: createMemoryProcessStore(),
        processes: [withdrawal],
        now: 5 as never,
      }),
    ).toThrow(ConfigError);
    await app.close();
  });
});

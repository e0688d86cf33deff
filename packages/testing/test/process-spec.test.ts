// A process spec on the pieces core has today: a withdrawal process written by hand (a subscriber
// that reserves funds and schedules its own timeout as a delayed command). Given events, when time
// passes, then commands: the shape a spec of core's process managers will take, on the same app.
import { Command, DomainEvent } from '@finaegis/core';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from '../src/index';
import './vitest-matchers';

class WithdrawalRequested extends DomainEvent {
  static readonly messageType = 'bank.WithdrawalRequested';
  constructor(
    readonly withdrawalId: string,
    readonly amount: string,
  ) {
    super({ aggregateId: withdrawalId, aggregateType: 'bank.Withdrawal' });
  }
}
class PayoutConfirmed extends DomainEvent {
  static readonly messageType = 'bank.PayoutConfirmed';
  constructor(readonly withdrawalId: string) {
    super({ aggregateId: withdrawalId, aggregateType: 'bank.Withdrawal' });
  }
}
class ReserveFunds extends Command {
  static readonly messageType = 'bank.ReserveFunds';
  constructor(
    readonly withdrawalId: string,
    readonly amount: string,
  ) {
    super();
  }
}
class ExpireWithdrawal extends Command {
  static readonly messageType = 'bank.ExpireWithdrawal';
  constructor(readonly withdrawalId: string) {
    super();
  }
}
class ReleaseFunds extends Command {
  static readonly messageType = 'bank.ReleaseFunds';
  constructor(readonly withdrawalId: string) {
    super();
  }
}

const PAYOUT_TIMEOUT_SECONDS = 30;
let app: TestApp;

beforeEach(async () => {
  app = await createTestApp();
  const open = new Set<string>();
  app.eventBus.subscribe(WithdrawalRequested, async (event) => {
    open.add(event.withdrawalId);
    await app.commandBus.dispatchAsync(new ReserveFunds(event.withdrawalId, event.amount));
    await app.commandBus.dispatchAsync(new ExpireWithdrawal(event.withdrawalId), {
      delay: PAYOUT_TIMEOUT_SECONDS,
    });
  });
  app.eventBus.subscribe(PayoutConfirmed, (event) => void open.delete(event.withdrawalId));
  app.commandBus.register(ReserveFunds, () => undefined);
  app.commandBus.register(ReleaseFunds, () => undefined);
  app.commandBus.register(ExpireWithdrawal, async (command) => {
    // A timeout arriving after the process ended is ignored.
    if (open.delete(command.withdrawalId))
      await app.commandBus.dispatch(new ReleaseFunds(command.withdrawalId));
  });
});

afterEach(async () => {
  await app.close();
});

describe('a withdrawal process', () => {
  test('given a request, the funds are reserved and nothing is released before the timeout', async () => {
    await app.eventBus.publish(new WithdrawalRequested('w-1', '250'));
    await app.advance(29_999);
    expect(app).toHaveDispatched(ReserveFunds, { withdrawalId: 'w-1', amount: '250' });
    expect(app).toHaveSent(ExpireWithdrawal, { withdrawalId: 'w-1' }, { delayMs: 30_000 });
    expect(app).not.toHaveDispatched(ReleaseFunds);
  });

  test('given a request and no payout, when 30 s pass, then the funds are released', async () => {
    await app.eventBus.publish(new WithdrawalRequested('w-1', '250'));
    await app.advance(30_000);
    expect(app).toHaveDispatched(ReleaseFunds, { withdrawalId: 'w-1' }, { times: 1 });
  });

  test('given a request and a payout within the time, when 30 s pass, then nothing is released', async () => {
    await app.eventBus.publish(new WithdrawalRequested('w-1', '250'));
    await app.advance(10_000);
    await app.eventBus.publish(new PayoutConfirmed('w-1'));
    await app.advance(20_000);
    expect(app).toHaveDispatched(ExpireWithdrawal, { withdrawalId: 'w-1' });
    expect(app).not.toHaveDispatched(ReleaseFunds);
  });
});

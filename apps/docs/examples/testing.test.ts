// The testing recipe: specs of an aggregate and a projection, and app specs of the getting-started
// exchange on the test kit's app, with idle() and a clock instead of sleeping. `pnpm test` runs this
// file (apps/docs/vitest.config.ts includes examples/**/*.test.ts); the docs build compiles it.

// #region setup
// A vitest setup file (`test.setupFiles` in vitest.config.ts); here at the top of the test file.
import { type FinaegisMatchers, finaegisMatchers } from '@finaegis/testing';
import { expect } from 'vitest';

expect.extend(finaegisMatchers);

declare module 'vitest' {
  interface Assertion<T> extends FinaegisMatchers<void> {}
}

// #endregion setup

// #region aggregate
import { AggregateRoot, DomainEvent, type EventInit, FinAegisError } from '@finaegis/core';
import { aggregateSpec, like } from '@finaegis/testing';
import { test } from 'vitest';

class FundsDeposited extends DomainEvent {
  static readonly messageType = 'wallet.FundsDeposited';
  constructor(
    readonly amount: string,
    init?: EventInit, // the aggregate id: raise() sets it; a test builds some events by hand
  ) {
    super(init);
  }
}
class FundsReserved extends DomainEvent {
  static readonly messageType = 'wallet.FundsReserved';
  constructor(
    readonly orderId: string,
    readonly amount: string,
    init?: EventInit,
  ) {
    super(init);
  }
}
class InsufficientFunds extends FinAegisError {
  readonly code = 'INSUFFICIENT_FUNDS';
}

class Wallet extends AggregateRoot {
  static override readonly aggregateType = 'wallet.Wallet';
  available = 0n; // cents: money is never a float
  constructor(id: string) {
    super(id);
    this.on(FundsDeposited, (e) => void (this.available += BigInt(e.amount)));
    this.on(FundsReserved, (e) => void (this.available -= BigInt(e.amount)));
  }
  reserve(orderId: string, amount: string): bigint {
    if (BigInt(amount) > this.available) throw new InsufficientFunds(`cannot reserve ${amount}`);
    this.raise(new FundsReserved(orderId, amount));
    return this.available;
  }
}

// The past as events; every `then…` runs on a new aggregate, so one `given` serves many tests.
const funded = aggregateSpec(Wallet, { events: [FundsDeposited, FundsReserved] }).given(
  new FundsDeposited('10000'),
);

test('a wallet reserves what it holds', () => {
  funded
    .when((wallet) => wallet.reserve('o-1', '2500'))
    .thenEvents(like(FundsReserved, { orderId: 'o-1', amount: '2500' }))
    .thenReturns(7500n)
    .thenState((wallet) => expect(wallet.available).toBe(7500n));
});

test('a wallet refuses more than it holds, and raises nothing', () => {
  funded
    .when((wallet) => wallet.reserve('o-2', '20000'))
    .thenError(InsufficientFunds, 'cannot reserve 20000');
});

// #endregion aggregate

// #region projection
import { Projection, Query } from '@finaegis/core';
import { projectionSpec } from '@finaegis/testing';

class GetAvailable extends Query<string> {
  static readonly messageType = 'wallet.GetAvailable';
  constructor(readonly walletId: string) {
    super();
  }
}
const available = new Map<string, bigint>();
const change = (id: string, delta: bigint) => available.set(id, (available.get(id) ?? 0n) + delta);
const balances = new Projection('wallet-balances')
  .on(FundsDeposited, (e) => void change(e.aggregateId, BigInt(e.amount)))
  .on(FundsReserved, (e) => void change(e.aggregateId, -BigInt(e.amount)))
  .onReset(() => available.clear());

test('the balances projection answers what is available', async () => {
  // Stored through the serializer and replayed by a Projector, as in production.
  await projectionSpec(balances, {
    events: [FundsDeposited, FundsReserved],
    queries: (bus) => bus.register(GetAvailable, (q) => String(available.get(q.walletId) ?? 0n)),
  })
    .given(
      new FundsDeposited('10000', { aggregateId: 'w-1' }),
      new FundsReserved('o-1', '2500', { aggregateId: 'w-1' }),
    )
    .thenAnswers(new GetAvailable('w-1'), '7500');
});

// #endregion projection

// #region app
import { Command } from '@finaegis/core';
import { createTestApp } from '@finaegis/testing';
import { GetOrderBookQuery, OrderPlaced, PlaceOrderCommand, registerExchange } from './exchange';

test('a delayed order is placed when the clock gets there, and clears the cached book', async () => {
  const app = await createTestApp(); // a worker is running (group `workers`)
  registerExchange(app); // the getting-started exchange, unchanged

  await app.queryBus.askCached(new GetOrderBookQuery('BTC/USD'), { ttl: 60 });
  expect(app).toHaveCached(GetOrderBookQuery, { pair: 'BTC/USD' }, { value: { orders: 0 } });

  await app.commandBus.dispatchAsync(new PlaceOrderCommand('u-1', 'BTC/USD', '0.10'), { delay: 30 });
  await app.idle(); // everything due is done; the order waits 30 s on the test clock
  expect(app).not.toHavePublished(OrderPlaced);

  await app.advance(30_000); // no sleeping: the worker places the order now
  expect(app).toHavePublished(OrderPlaced, { pair: 'BTC/USD' });
  expect(app).not.toHaveCached(GetOrderBookQuery, { pair: 'BTC/USD' }); // the subscriber cleared it
  await app.close();
});

class SettleTrade extends Command {
  static readonly messageType = 'exchange.SettleTrade';
  constructor(readonly tradeId: string) {
    super();
  }
}

test('a failing command is retried after its backoff, then dead-lettered', async () => {
  const app = await createTestApp({
    worker: { retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 5_000 } } },
  });
  app.commandBus.register(SettleTrade, () => {
    throw new Error('ledger unavailable');
  });

  await app.commandBus.dispatchAsync(new SettleTrade('t-1'));
  await app.idle();
  expect(app.handled.map((h) => h.outcome)).toEqual(['retry']);
  await app.advance(10_000); // two backoffs of 5 s
  expect(app.handled.map((h) => h.outcome)).toEqual(['retry', 'retry', 'dead-letter']);
  expect(app).toHaveDeadLettered(SettleTrade, { tradeId: 't-1' });
  await app.close();
});
// #endregion app

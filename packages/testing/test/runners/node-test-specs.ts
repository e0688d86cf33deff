// The kit under node:test, with node:assert and the kit's assertion functions: no vitest, no jest.
// test/runners.test.ts runs this file with `node --import tsx --test` and reads the result.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  aggregateSpec,
  assertCached,
  assertPublished,
  assertSent,
  createTestApp,
  like,
  SpecAssertionError,
} from '../../src/index';
import {
  ACCOUNT_EVENTS,
  Account,
  Deposited,
  GetBalance,
  InsufficientFundsError,
  OpenAccount,
  Withdrawn,
} from '../domain';

const account = aggregateSpec(Account, { events: ACCOUNT_EVENTS });

test('an aggregate spec passes under node:test', () => {
  account
    .given(new Deposited('a', '10'))
    .when((a) => a.withdraw('4'))
    .thenEvents(like(Withdrawn, { amount: '4' }))
    .thenState((a) => assert.equal(a.balance, 6n));
  account
    .given(new Deposited('a', '1'))
    .when((a) => a.withdraw('4'))
    .thenError(InsufficientFundsError);
});

test('a failing spec throws a SpecAssertionError that node:test reports', () => {
  assert.throws(
    () => account.when((a) => a.deposit('1')).thenEvents(like(Deposited, { amount: '2' })),
    SpecAssertionError,
  );
});

const app = await createTestApp();
after(() => app.close());

test('an app spec with the assertion functions and the clock', async () => {
  app.commandBus.register(OpenAccount, async (command) => {
    await app.eventBus.publishAsync(new Deposited(command.accountId, command.initial));
    return command.accountId;
  });
  app.queryBus.register(GetBalance, (query) => ({ accountId: query.accountId, balance: '5' }));
  await app.commandBus.dispatchAsync(new OpenAccount('a', '5'), { delay: 60 });
  await app.advance(60_000);
  assertPublished(app, Deposited, { accountId: 'a', amount: '5' });
  assertSent(app, OpenAccount, { accountId: 'a' }, { delayMs: 60_000 });
  await app.queryBus.askCached(new GetBalance('a'), { ttl: 10 });
  assertCached(app, GetBalance, { accountId: 'a' });
  await app.advance(10_000);
  assert.throws(() => assertCached(app, GetBalance, { accountId: 'a' }), SpecAssertionError);
});

test('a failing app assertion names the difference and lists what was published', () => {
  assert.throws(() => assertPublished(app, Deposited, { amount: '6' }), {
    name: 'SpecAssertionError',
    message: /closest bank\.Deposited: amount: expected '6', got '5'\); published:\n {4}1\. bank\.Deposited/,
  });
});

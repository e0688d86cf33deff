import { CommandValidationError, MessageRegistry } from '@finaegis/core';
import { createMemoryEventStore } from '@finaegis/memory';
import { aggregateSpec, like } from '@finaegis/testing';
import { describe, expect, it } from 'vitest';
import { parseAmount } from '../src/decimal';
import { ExchangeEngine } from '../src/domain/engine';
import { OrderNotCancellableError } from '../src/domain/errors/order-not-cancellable-error';
import { OrderNotFoundError } from '../src/domain/errors/order-not-found-error';
import { Exchange } from '../src/domain/exchange';
import {
  CancelOrderCommand,
  DepositCommand,
  EXCHANGE_EVENTS,
  FundsDeposited,
  OrderAddedToBook,
  OrderCancelled,
  OrderMatched,
  OrderPlaced,
  OrderRejected,
  OrderRemovedFromBook,
  PlaceOrderCommand,
  type Side,
} from '../src/domain/messages';

const init = { correlationId: 'test' };
const exchange = aggregateSpec(Exchange, { id: 'main', events: EXCHANGE_EVENTS });

let next = 0;
const deposit = (accountId: string, asset: string, amount: string) =>
  new FundsDeposited(`d${++next}`, accountId, asset, amount);
/** A limit order (a market order when `price` is null) with an id of its own. */
const order = (accountId: string, side: Side, amount: string, price: string | null, pair = 'BTC/USD') =>
  new PlaceOrderCommand(
    `o${++next}`,
    accountId,
    pair,
    side,
    price === null ? 'market' : 'limit',
    amount,
    price,
  );
const place = (command: PlaceOrderCommand) => (x: Exchange) => x.placeOrder(command, init);
const cancel = (orderId: string, accountId: string) => (x: Exchange) =>
  x.cancelOrder(new CancelOrderCommand(orderId, accountId), init);
/** An account's holdings in one line: `BTC 10, USD 70000 (30000 locked)`. */
const funds = (x: Exchange, accountId: string) =>
  Object.entries(x.balances(accountId).balances)
    .map(
      ([asset, { available, locked }]) =>
        `${asset} ${available}${locked === '0' ? '' : ` (${locked} locked)`}`,
    )
    .join(', ');

const deposits = [
  deposit('alice', 'USD', '100000'),
  deposit('alice', 'BTC', '10'),
  deposit('bob', 'USD', '100000'),
  deposit('bob', 'BTC', '10'),
  deposit('carol', 'BTC', '10'),
];
const funded = exchange.given(...deposits);

describe('placing orders', () => {
  it('locks the funds of a resting limit order and shows it in the book', () => {
    const buy = order('alice', 'buy', '1', '30000');
    const sell = order('bob', 'sell', '2', '31000');
    const { state: x } = funded
      .given(place(buy))
      .when(place(sell))
      .thenEvents(like(OrderPlaced, { locked: '2' }), like(OrderAddedToBook, { remaining: '2' }))
      .thenReturns({ status: 'open' });
    expect(x.order(buy.orderId)?.status).toBe('open');
    expect(funds(x, 'alice')).toBe('BTC 10, USD 70000 (30000 locked)');
    expect(funds(x, 'bob')).toBe('BTC 8 (2 locked), USD 100000');
    const book = x.orderBook('BTC/USD', 10);
    expect(book.bids).toEqual([{ price: '30000', amount: '1', orders: 1 }]);
    expect(book.asks).toEqual([{ price: '31000', amount: '2', orders: 1 }]);
    expect(book).toMatchObject({ bestBid: '30000', bestAsk: '31000', spread: '1000', lastPrice: null });
  });

  it('rejects what the account cannot pay for, and unknown accounts', () => {
    const rejected = (command: PlaceOrderCommand, field: string, reason: RegExp) =>
      funded
        .when(place(command))
        .thenEvents(like(OrderRejected, { field, reason }))
        .thenReturns({ status: 'rejected', field })
        .thenState((x) => expect(funds(x, 'alice')).toBe('BTC 10, USD 100000'));
    rejected(order('alice', 'buy', '4', '30000'), 'amount', /insufficient USD balance/);
    rejected(order('alice', 'sell', '11', '30000'), 'amount', /insufficient BTC balance/);
    rejected(order('mallory', 'buy', '1', '1'), 'accountId', /unknown account/);
    rejected(order('alice', 'buy', '1', null), 'type', /no sell orders/);
  });

  it('validates the command itself (pair, price of limit orders, minimum amounts, decimals)', () => {
    const problems = (...terms: [string, Side, 'limit' | 'market', string, string | null]) => {
      const { error } = exchange
        .when(() => new PlaceOrderCommand('x', 'a', ...terms))
        .thenError(CommandValidationError);
      return Object.entries(error.fields).map(([field, reasons]) => `${field}: ${reasons.join('; ')}`);
    };
    expect(problems('DOGE/USD', 'buy', 'limit', '1', '1')).toEqual([expect.stringMatching(/^pair: /)]);
    expect(problems('BTC/USD', 'buy', 'limit', '1', null)).toEqual(['price: is required for a limit order']);
    expect(problems('BTC/USD', 'buy', 'limit', '0.00009', '1')).toEqual([
      'amount: must be at least 0.0001 BTC',
    ]);
    expect(problems('ETH/USD', 'sell', 'limit', '0.0005', '1')).toEqual([
      'amount: must be at least 0.001 ETH',
    ]);
    expect(problems('BTC/USD', 'buy', 'limit', '1.123456789', '1')).toEqual([
      'amount: must have at most 8 decimal places',
    ]);
    expect(problems('BTC/USD', 'buy', 'limit', '1', '0')).toEqual(['price: must be greater than 0']);
    expect(problems('BTC/USD', 'buy', 'market', '1', '5')).toEqual([
      'price: must be empty for a market order',
    ]);
  });

  it('deciding an order adds no balance the events do not carry (a rejected order leaves no empty asset)', () => {
    // carol holds only BTC: a USD buy is rejected, and must not leave a USD entry behind.
    const { events, state } = funded
      .when(place(order('carol', 'buy', '1', '30000')))
      .thenEvents(like(OrderRejected))
      .thenReturns({ status: 'rejected' });
    expect(funds(state, 'carol')).toBe('BTC 10');
    const rebuilt = exchange.given(...deposits, ...events).when((x) => x.balances('carol'));
    rebuilt.thenNoEvents().thenReturns(state.balances('carol'));
  });

  it('places an order id once: the same command again returns the same order', () => {
    const command = order('alice', 'buy', '1', '30000');
    const { state } = funded
      .given(place(command))
      .when(place(command))
      .thenNoEvents()
      .thenReturns({ status: 'open' });
    expect(funds(state, 'alice')).toBe('BTC 10, USD 70000 (30000 locked)');
  });
});

describe('matching', () => {
  it('trades at the maker price for the smaller amount, with maker 0.1 % and taker 0.2 % fees', () => {
    const maker = order('bob', 'sell', '1', '30000');
    const trade = { price: '30000', quantity: '0.4', quoteAmount: '12000', takerSide: 'buy' } as const;
    const { state: x } = funded
      .given(place(maker))
      .when(place(order('alice', 'buy', '0.4', '31000')))
      .thenEvents(like(OrderPlaced), like(OrderMatched, { ...trade, takerFee: '0.0008', makerFee: '12' }))
      .thenReturns({ status: 'filled' });
    // Alice locked 0.4 × 31000 = 12400, paid 12000; the 400 came back when her order was filled.
    expect(funds(x, 'alice')).toBe('BTC 10.3992, USD 88000');
    expect(funds(x, 'bob')).toBe('BTC 9 (0.6 locked), USD 111988');
    expect(x.order(maker.orderId)).toMatchObject({
      status: 'partially_filled',
      filled: '0.4',
      remaining: '0.6',
    });
    expect(x.fees()).toEqual({ BTC: '0.0008', USD: '12' });
    expect(x.orderBook('BTC/USD', 5)).toMatchObject({
      lastPrice: '30000',
      asks: [{ price: '30000', amount: '0.6' }],
    });
  });

  it('walks the book in price-time priority and fills each maker once', () => {
    const late = order('bob', 'sell', '1', '30100');
    const early = order('carol', 'sell', '1', '30100');
    const cheap = order('bob', 'sell', '0.5', '30000');
    const { state: x } = funded
      .given(place(late), place(early), place(cheap))
      .when(place(order('alice', 'buy', '2', '30100')))
      .thenEvents(
        like(OrderPlaced),
        like(OrderMatched, { makerOrderId: cheap.orderId, price: '30000', quantity: '0.5' }),
        like(OrderRemovedFromBook, { orderId: cheap.orderId, reason: 'filled' }),
        like(OrderMatched, { makerOrderId: late.orderId, price: '30100', quantity: '1' }),
        like(OrderRemovedFromBook, { orderId: late.orderId, reason: 'filled' }),
        like(OrderMatched, { makerOrderId: early.orderId, price: '30100', quantity: '0.5' }),
      )
      .thenReturns({ status: 'filled' });
    expect(x.order(late.orderId)?.status).toBe('filled');
    expect(x.order(early.orderId)).toMatchObject({ status: 'partially_filled', remaining: '0.5' });
  });

  it('never matches one maker twice, even when the taker could take more', () => {
    const maker = order('bob', 'sell', '0.3', '30000');
    const { state: x } = funded
      .given(place(maker))
      .when(place(order('alice', 'buy', '1', '30000')))
      .thenEvents(
        like(OrderPlaced),
        like(OrderMatched, { quantity: '0.3' }),
        like(OrderRemovedFromBook),
        like(OrderAddedToBook),
      )
      .thenReturns({ status: 'partially_filled', filled: '0.3', remaining: '0.7' });
    expect(x.order(maker.orderId)?.status).toBe('filled');
    expect(x.orderBook('BTC/USD', 5)).toMatchObject({ asks: [], bids: [{ price: '30000', amount: '0.7' }] });
    expect(funds(x, 'bob')).toBe('BTC 9.7, USD 108991');
  });

  it('does not cross when prices do not meet', () => {
    funded
      .given(place(order('bob', 'sell', '1', '30001')))
      .when(place(order('alice', 'buy', '1', '30000')))
      .thenEvents(like(OrderPlaced), like(OrderAddedToBook))
      .thenReturns({ status: 'open' });
  });

  it('fills a market sell against the bids and cancels what is left', () => {
    const { state } = funded
      .given(place(order('alice', 'buy', '0.5', '29000')))
      .when(place(order('bob', 'sell', '1', null)))
      .thenEvents(like(OrderPlaced), like(OrderMatched), like(OrderRemovedFromBook), like(OrderCancelled))
      .thenReturns({ status: 'cancelled', filled: '0.5' });
    expect(funds(state, 'bob')).toBe('BTC 9.5, USD 114471');
  });

  it('limits a market buy to the funds of the account', () => {
    const { state } = funded
      .given(deposit('dave', 'USD', '15000'), place(order('bob', 'sell', '1', '30000')))
      .when(place(order('dave', 'buy', '1', null)))
      .thenEvents(like(OrderPlaced, { locked: '15000' }), like(OrderMatched), like(OrderCancelled))
      .thenReturns({ status: 'cancelled', filled: '0.5' });
    expect(funds(state, 'dave')).toBe('BTC 0.499, USD 0');
  });

  it('keeps every asset: balances plus fees equal deposits after many trades', () => {
    const deposited = funded.when((x) => x.totals()).thenNoEvents().result;
    const orders = Array.from({ length: 60 }, (_, i) => {
      const price = `${30000 + ((i * 37) % 11) * 10}.12345678`;
      return order(i % 2 === 0 ? 'alice' : 'bob', i % 3 === 0 ? 'sell' : 'buy', `0.${1000 + i * 7}`, price);
    });
    const { state, eventsOf } = funded
      .when((x) =>
        [...orders, order('carol', 'sell', '0.5', null)].map((command) => x.placeOrder(command, init)),
      )
      .thenEventsInclude(like(OrderMatched));
    expect(eventsOf(OrderMatched).length).toBeGreaterThan(10);
    expect(state.totals()).toEqual(deposited);
  });
});

describe('cancelling', () => {
  it('takes the order off the book and gives the funds back', () => {
    const buy = order('alice', 'buy', '1', '30000');
    const { state } = funded
      .given(place(buy))
      .when(cancel(buy.orderId, 'alice'))
      .thenEvents(
        like(OrderRemovedFromBook, { reason: 'cancelled' }),
        like(OrderCancelled, { released: '30000' }),
      )
      .thenReturns({ status: 'cancelled' });
    expect(funds(state, 'alice')).toBe('BTC 10, USD 100000');
    expect(state.orderBook('BTC/USD', 5).bids).toEqual([]);
  });

  it('refuses final orders and orders of other accounts', () => {
    const buy = order('alice', 'buy', '1', '30000');
    const open = funded.given(place(buy));
    open
      .given(cancel(buy.orderId, 'alice'))
      .when(cancel(buy.orderId, 'alice'))
      .thenError(OrderNotCancellableError);
    open.when(cancel(buy.orderId, 'bob')).thenError(OrderNotFoundError);
    funded.when(cancel('nope', 'alice')).thenError(OrderNotFoundError);
    open
      .given(place(order('bob', 'sell', '1', '30000')))
      .when(cancel(buy.orderId, 'alice'))
      .thenError(OrderNotCancellableError, 'is filled and cannot be cancelled');
  });
});

describe('the engine over an event store', () => {
  it('gives every engine on one store the same state, even when they race', async () => {
    const store = createMemoryEventStore();
    const engines = [0, 1, 2].map(
      () => new ExchangeEngine({ store, registry: new MessageRegistry(), streamId: 's' }),
    );
    const [one, two, fresh] = engines as [ExchangeEngine, ExchangeEngine, ExchangeEngine];
    await one.execute((x) => x.deposit(new DepositCommand('d1', 'alice', 'USD', '1000000'), init));
    await two.execute((x) => x.deposit(new DepositCommand('d2', 'bob', 'BTC', '100'), init));
    const orders = Array.from({ length: 40 }, (_, i) =>
      i % 4 < 2
        ? order('alice', 'buy', '0.5', String(30000 + (i % 7)))
        : order('bob', 'sell', '0.7', String(30000 + (i % 5))),
    );
    const placed = await Promise.all(
      orders.map((command, i) => (i % 2 === 0 ? one : two).execute((x) => x.placeOrder(command, init))),
    );
    expect(placed.every((view) => view.status !== 'rejected')).toBe(true);
    // A command delivered again (same order id) changes nothing.
    const first = orders[0]!;
    const again = new PlaceOrderCommand(first.orderId, 'alice', 'BTC/USD', 'buy', 'limit', '0.5', '30000');
    await two.execute((x) => x.placeOrder(again, init));
    const views = await Promise.all(
      engines.map((engine) =>
        engine.read((x) => ({
          book: x.orderBook('BTC/USD', 50),
          alice: x.balances('alice'),
          totals: x.totals(),
        })),
      ),
    );
    expect(views[1]).toEqual(views[0]);
    expect(views[2]).toEqual(views[0]);
    expect(views[0]?.totals).toEqual({ USD: parseAmount('1000000'), BTC: parseAmount('100') });
    expect(await fresh.read((x) => x.order(first.orderId)?.orderId)).toBe(first.orderId);
  });
});

import { CommandValidationError, MessageRegistry } from '@finaegis/core';
import { createMemoryEventStore } from '@finaegis/memory';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseAmount } from '../src/decimal';
import { ExchangeEngine } from '../src/domain/engine';
import { OrderNotCancellableError } from '../src/domain/errors/order-not-cancellable-error';
import { OrderNotFoundError } from '../src/domain/errors/order-not-found-error';
import { Exchange } from '../src/domain/exchange';
import { CancelOrderCommand, DepositCommand, OrderMatched, PlaceOrderCommand } from '../src/domain/messages';

const init = { correlationId: 'test' };
let exchange: Exchange;
let next = 0;

function fund(accountId: string, asset: string, amount: string): void {
  exchange.deposit(new DepositCommand(`d${++next}`, accountId, asset, amount), init);
}

function place(
  accountId: string,
  side: 'buy' | 'sell',
  amount: string,
  price: string | null,
  pair = 'BTC/USD',
) {
  const type = price === null ? 'market' : 'limit';
  return exchange.placeOrder(
    new PlaceOrderCommand(`o${++next}`, accountId, pair, side, type, amount, price),
    init,
  );
}

function balance(accountId: string, asset: string) {
  return exchange.balances(accountId).balances[asset];
}

function trades(): OrderMatched[] {
  return exchange.uncommittedEvents.filter((e): e is OrderMatched => e instanceof OrderMatched);
}

beforeEach(() => {
  exchange = new Exchange('main');
  fund('alice', 'USD', '100000');
  fund('alice', 'BTC', '10');
  fund('bob', 'USD', '100000');
  fund('bob', 'BTC', '10');
  fund('carol', 'BTC', '10');
});

describe('placing orders', () => {
  it('locks the funds of a resting limit order and shows it in the book', () => {
    const order = place('alice', 'buy', '1', '30000');
    expect(order.status).toBe('open');
    expect(balance('alice', 'USD')).toEqual({ available: '70000', locked: '30000' });
    const sell = place('bob', 'sell', '2', '31000');
    expect(sell.status).toBe('open');
    expect(balance('bob', 'BTC')).toEqual({ available: '8', locked: '2' });
    const book = exchange.orderBook('BTC/USD', 10);
    expect(book.bids).toEqual([{ price: '30000', amount: '1', orders: 1 }]);
    expect(book.asks).toEqual([{ price: '31000', amount: '2', orders: 1 }]);
    expect(book).toMatchObject({ bestBid: '30000', bestAsk: '31000', spread: '1000', lastPrice: null });
  });

  it('rejects what the account cannot pay for, and unknown accounts', () => {
    const tooBig = place('alice', 'buy', '4', '30000');
    expect(tooBig).toMatchObject({ status: 'rejected', field: 'amount' });
    expect(tooBig.reason).toContain('insufficient USD balance');
    expect(place('alice', 'sell', '11', '30000')).toMatchObject({ status: 'rejected', field: 'amount' });
    expect(place('mallory', 'buy', '1', '1')).toMatchObject({ status: 'rejected', field: 'accountId' });
    expect(place('alice', 'buy', '1', null)).toMatchObject({ status: 'rejected', field: 'type' });
    expect(balance('alice', 'USD')).toEqual({ available: '100000', locked: '0' });
  });

  it('validates the command itself (pair, price of limit orders, minimum amounts, decimals)', () => {
    const fields = (build: () => unknown) => {
      try {
        build();
      } catch (error) {
        expect(error).toBeInstanceOf(CommandValidationError);
        return (error as CommandValidationError).fields;
      }
      throw new Error('expected a validation error');
    };
    expect(
      fields(() => new PlaceOrderCommand('x', 'a', 'DOGE/USD', 'buy', 'limit', '1', '1')),
    ).toHaveProperty('pair');
    expect(fields(() => new PlaceOrderCommand('x', 'a', 'BTC/USD', 'buy', 'limit', '1', null))).toEqual({
      price: ['is required for a limit order'],
    });
    expect(fields(() => new PlaceOrderCommand('x', 'a', 'BTC/USD', 'buy', 'limit', '0.00009', '1'))).toEqual({
      amount: ['must be at least 0.0001 BTC'],
    });
    expect(fields(() => new PlaceOrderCommand('x', 'a', 'ETH/USD', 'sell', 'limit', '0.0005', '1'))).toEqual({
      amount: ['must be at least 0.001 ETH'],
    });
    expect(
      fields(() => new PlaceOrderCommand('x', 'a', 'BTC/USD', 'buy', 'limit', '1.123456789', '1')),
    ).toEqual({
      amount: ['must have at most 8 decimal places'],
    });
    expect(fields(() => new PlaceOrderCommand('x', 'a', 'BTC/USD', 'buy', 'limit', '1', '0'))).toEqual({
      price: ['must be greater than 0'],
    });
    expect(fields(() => new PlaceOrderCommand('x', 'a', 'BTC/USD', 'buy', 'market', '1', '5'))).toEqual({
      price: ['must be empty for a market order'],
    });
  });

  it('deciding an order adds no balance the events do not carry (a rejected order leaves no empty asset)', () => {
    // carol holds only BTC: a USD buy is rejected, and must not leave a USD entry behind.
    expect(place('carol', 'buy', '1', '30000')).toMatchObject({ status: 'rejected' });
    expect(Object.keys(exchange.balances('carol').balances)).toEqual(['BTC']);
    const rebuilt = new Exchange('main');
    rebuilt.loadFromHistory(exchange.uncommittedEvents);
    expect(rebuilt.balances('carol')).toEqual(exchange.balances('carol'));
  });

  it('places an order id once: the same command again returns the same order', () => {
    const command = new PlaceOrderCommand('same', 'alice', 'BTC/USD', 'buy', 'limit', '1', '30000');
    exchange.placeOrder(command, init);
    const before = exchange.uncommittedEvents.length;
    expect(exchange.placeOrder(command, init).status).toBe('open');
    expect(exchange.uncommittedEvents.length).toBe(before);
    expect(balance('alice', 'USD')).toEqual({ available: '70000', locked: '30000' });
  });
});

describe('matching', () => {
  it('trades at the maker price for the smaller amount, with maker 0.1 % and taker 0.2 % fees', () => {
    const maker = place('bob', 'sell', '1', '30000');
    const taker = place('alice', 'buy', '0.4', '31000');
    expect(taker.status).toBe('filled');
    const [trade] = trades();
    expect(trade).toMatchObject({ price: '30000', quantity: '0.4', quoteAmount: '12000', takerSide: 'buy' });
    expect(trade).toMatchObject({ takerFee: '0.0008', makerFee: '12' });
    // Alice locked 0.4 × 31000 = 12400, paid 12000; the 400 comes back when her order is filled.
    expect(balance('alice', 'USD')).toEqual({ available: '88000', locked: '0' });
    expect(balance('alice', 'BTC')).toEqual({ available: '10.3992', locked: '0' });
    expect(balance('bob', 'USD')).toEqual({ available: '111988', locked: '0' });
    expect(balance('bob', 'BTC')).toEqual({ available: '9', locked: '0.6' });
    expect(exchange.order(maker.orderId)).toMatchObject({
      status: 'partially_filled',
      filled: '0.4',
      remaining: '0.6',
    });
    expect(exchange.fees()).toEqual({ BTC: '0.0008', USD: '12' });
    expect(exchange.orderBook('BTC/USD', 5)).toMatchObject({
      lastPrice: '30000',
      asks: [{ price: '30000', amount: '0.6' }],
    });
  });

  it('walks the book in price-time priority and fills each maker once', () => {
    const late = place('bob', 'sell', '1', '30100');
    const early = place('carol', 'sell', '1', '30100');
    const cheap = place('bob', 'sell', '0.5', '30000');
    const taker = place('alice', 'buy', '2', '30100');
    expect(trades().map((t) => [t.makerOrderId, t.price, t.quantity])).toEqual([
      [cheap.orderId, '30000', '0.5'],
      [late.orderId, '30100', '1'],
      [early.orderId, '30100', '0.5'],
    ]);
    expect(taker.status).toBe('filled');
    expect(exchange.order(late.orderId)?.status).toBe('filled');
    expect(exchange.order(early.orderId)).toMatchObject({ status: 'partially_filled', remaining: '0.5' });
  });

  it('never matches one maker twice, even when the taker could take more', () => {
    const maker = place('bob', 'sell', '0.3', '30000');
    const taker = place('alice', 'buy', '1', '30000');
    expect(trades()).toHaveLength(1);
    expect(trades()[0]?.quantity).toBe('0.3');
    expect(exchange.order(maker.orderId)?.status).toBe('filled');
    expect(taker).toMatchObject({ status: 'partially_filled', filled: '0.3', remaining: '0.7' });
    expect(exchange.orderBook('BTC/USD', 5)).toMatchObject({
      asks: [],
      bids: [{ price: '30000', amount: '0.7' }],
    });
    expect(balance('bob', 'BTC')).toEqual({ available: '9.7', locked: '0' });
  });

  it('does not cross when prices do not meet', () => {
    place('bob', 'sell', '1', '30001');
    expect(place('alice', 'buy', '1', '30000').status).toBe('open');
    expect(trades()).toHaveLength(0);
  });

  it('fills a market sell against the bids and cancels what is left', () => {
    place('alice', 'buy', '0.5', '29000');
    const market = place('bob', 'sell', '1', null);
    expect(market).toMatchObject({ status: 'cancelled', filled: '0.5' });
    expect(balance('bob', 'BTC')).toEqual({ available: '9.5', locked: '0' });
    expect(balance('bob', 'USD')?.available).toBe('114471');
  });

  it('limits a market buy to the funds of the account', () => {
    fund('dave', 'USD', '15000');
    place('bob', 'sell', '1', '30000');
    const market = place('dave', 'buy', '1', null);
    expect(market).toMatchObject({ status: 'cancelled', filled: '0.5' });
    expect(balance('dave', 'USD')).toEqual({ available: '0', locked: '0' });
    expect(balance('dave', 'BTC')?.available).toBe('0.499');
  });

  it('keeps every asset: balances plus fees equal deposits after many trades', () => {
    const deposited = exchange.totals();
    for (let i = 0; i < 60; i++) {
      const price = String(30000 + ((i * 37) % 11) * 10) + '.12345678';
      place(i % 2 === 0 ? 'alice' : 'bob', i % 3 === 0 ? 'sell' : 'buy', `0.${String(1000 + i * 7)}`, price);
    }
    place('carol', 'sell', '0.5', null);
    expect(trades().length).toBeGreaterThan(10);
    expect(exchange.totals()).toEqual(deposited);
  });
});

describe('cancelling', () => {
  it('takes the order off the book and gives the funds back', () => {
    const order = place('alice', 'buy', '1', '30000');
    const cancelled = exchange.cancelOrder(new CancelOrderCommand(order.orderId, 'alice'), init);
    expect(cancelled.status).toBe('cancelled');
    expect(balance('alice', 'USD')).toEqual({ available: '100000', locked: '0' });
    expect(exchange.orderBook('BTC/USD', 5).bids).toEqual([]);
  });

  it('refuses final orders and orders of other accounts', () => {
    const order = place('alice', 'buy', '1', '30000');
    exchange.cancelOrder(new CancelOrderCommand(order.orderId, 'alice'), init);
    expect(() => exchange.cancelOrder(new CancelOrderCommand(order.orderId, 'alice'), init)).toThrow(
      OrderNotCancellableError,
    );
    const other = place('alice', 'buy', '1', '30000');
    expect(() => exchange.cancelOrder(new CancelOrderCommand(other.orderId, 'bob'), init)).toThrow(
      OrderNotFoundError,
    );
    expect(() => exchange.cancelOrder(new CancelOrderCommand('nope', 'alice'), init)).toThrow(
      OrderNotFoundError,
    );
    place('bob', 'sell', '1', '30000');
    expect(() => exchange.cancelOrder(new CancelOrderCommand(other.orderId, 'alice'), init)).toThrow(
      /is filled and cannot be cancelled/,
    );
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
    const placed = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const engine = i % 2 === 0 ? one : two;
        const command =
          i % 4 < 2
            ? new PlaceOrderCommand(
                `b${i}`,
                'alice',
                'BTC/USD',
                'buy',
                'limit',
                '0.5',
                String(30000 + (i % 7)),
              )
            : new PlaceOrderCommand(
                `s${i}`,
                'bob',
                'BTC/USD',
                'sell',
                'limit',
                '0.7',
                String(30000 + (i % 5)),
              );
        return engine.execute((x) => x.placeOrder(command, init));
      }),
    );
    expect(placed.every((order) => order.status !== 'rejected')).toBe(true);
    // A command delivered again (same order id) changes nothing.
    await two.execute((x) =>
      x.placeOrder(new PlaceOrderCommand('b0', 'alice', 'BTC/USD', 'buy', 'limit', '0.5', '30000'), init),
    );
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
    expect(await fresh.read((x) => x.order('b0')?.orderId)).toBe('b0');
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { createCqrs, MessageRegistry, silentLogger } from '@finaegis/core';
import { createPostgresEventStore } from '@finaegis/postgres';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTransport } from '../src/app';
import { DEMO_ACCOUNTS, demoConfigFromEnv, SEED_BALANCES } from '../src/config/domain';
import { type Amount, formatAmount, parseAmount } from '../src/decimal';
import { ExchangeEngine } from '../src/domain/engine';
import { PlaceOrderCommand } from '../src/domain/messages';
import { loadOrder, runLoad } from '../src/load';
import { eventually, removeRedisPrefix } from './helpers';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ORDERS = 1000;
const demoDir = resolve(import.meta.dirname, '..');
const id = randomBytes(4).toString('hex');
const schema = `demo_mp_${id}`;
const baseEnv = {
  ...process.env,
  EVENT_STORE: 'postgres',
  CACHE_DRIVER: 'redis',
  REDIS_URL,
  DATABASE_URL,
  EVENT_STORE_SCHEMA: schema,
  WORKER_CONCURRENCY: '4',
  PORT: '0',
  LOG_LEVEL: 'warn',
};
const children: ChildProcess[] = [];
// The demo does not depend on pg itself; the test borrows the postgres adapter's copy to drop its schema.
const pg = createRequire(resolve(demoDir, '../../packages/postgres/package.json'))('pg') as {
  Client: new (options: {
    connectionString: string;
  }) => {
    connect(): Promise<void>;
    query(sql: string): Promise<unknown>;
    end(): Promise<void>;
  };
};

/** Starts `cli.ts <command>` as its own process; resolves with the line that says it is ready. */
function startProcess(
  command: string,
  env: Record<string, string | undefined>,
  ready: RegExp,
): Promise<RegExpExecArray> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', command], { cwd: demoDir, env });
  children.push(child);
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match !== null) resolvePromise(match);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) =>
      reject(new Error(`${command} exited with ${code} before it was ready:\n${output}`)),
    );
  });
}

afterEach(async () => {
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    ),
  );
});

afterAll(async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe.each(['bullmq', 'kafka'])(
  'one API and two workers as separate processes (%s, PostgreSQL, Redis cache)',
  (queue) => {
    it(`handles ${ORDERS} async orders once each: balances equal what the trades imply`, async () => {
      const env = { ...baseEnv, QUEUE_CONNECTION: queue, EXCHANGE_STREAM: `demo-mp-${queue}-${id}` };
      const [, url] = await startProcess('api', env, /listening on (http:\/\/\S+?)\/? /);
      await Promise.all([
        startProcess('worker', env, /worker ready/),
        startProcess('worker', env, /worker ready/),
      ]);

      const result = await runLoad({
        url: url!,
        orders: ORDERS,
        concurrency: 16,
        async: true,
        pair: 'BTC/USD',
      });
      expect(result.failed).toBe(0);
      const orderIds = result.orderIds.filter((orderId): orderId is string => orderId !== undefined);
      expect(new Set(orderIds).size).toBe(ORDERS);

      const store = createPostgresEventStore({ connectionString: DATABASE_URL, schema });
      try {
        const stream = env.EXCHANGE_STREAM;
        // Every order ends up placed or rejected exactly once, whichever worker took it.
        const events = await eventually(async () => {
          const all = await store.readStream(stream);
          const decided = all.filter(
            (e) => e.type === 'exchange.OrderPlaced' || e.type === 'exchange.OrderRejected',
          );
          return decided.length >= ORDERS ? all : undefined;
        }, 120_000);
        const decided = events.filter(
          (e) => e.type === 'exchange.OrderPlaced' || e.type === 'exchange.OrderRejected',
        );
        const decidedIds = decided.map((e) => e.data.orderId as string);
        expect(decided.length).toBe(ORDERS);
        expect(new Set(decidedIds)).toEqual(new Set(orderIds));

        // Deliver 100 of the orders again, as new messages with the same order ids (a client retry or
        // a redelivery): the workers must not place any of them twice.
        const config = demoConfigFromEnv(env);
        const transport = await createTransport(config);
        const sender = createCqrs({ config: config.domain, transport, logger: silentLogger });
        try {
          for (let i = 0; i < 100; i++) {
            const { token, body } = loadOrder(i, 'BTC/USD');
            const accountId = DEMO_ACCOUNTS.find((a) => a.token === token)!.accountId;
            await sender.commandBus.dispatchAsync(
              new PlaceOrderCommand(
                result.orderIds[i]!,
                accountId,
                body.pair!,
                body.side as 'buy',
                'limit',
                body.amount!,
                body.price!,
              ),
            );
          }
          await eventually(
            async () =>
              (await transport.depth('commands', { group: 'exchange-workers' })) === 0 ? true : undefined,
            60_000,
          );
        } finally {
          await sender.close();
        }
        events.splice(0, events.length, ...(await store.readStream(stream)));
        const decidedAgain = events.filter(
          (e) => e.type === 'exchange.OrderPlaced' || e.type === 'exchange.OrderRejected',
        );
        expect(decidedAgain.length).toBe(ORDERS);

        // The balances the trades imply, computed here from the events, independently of the engine.
        const expected = new Map<string, Amount>();
        const add = (account: string, asset: string, amount: Amount) =>
          expected.set(`${account}:${asset}`, (expected.get(`${account}:${asset}`) ?? 0n) + amount);
        const filled = new Map<string, Amount>();
        for (const e of events) {
          const d = e.data as Record<string, string>;
          if (e.type === 'exchange.FundsDeposited') add(d.accountId!, d.asset!, parseAmount(d.amount!));
          if (e.type === 'exchange.OrderMatched') {
            const qty = parseAmount(d.quantity!);
            const quote = parseAmount(d.quoteAmount!);
            const takerBuys = d.takerSide === 'buy';
            const buyer = takerBuys ? d.takerAccountId! : d.makerAccountId!;
            const seller = takerBuys ? d.makerAccountId! : d.takerAccountId!;
            const buyerFee = parseAmount(takerBuys ? d.takerFee! : d.makerFee!);
            const sellerFee = parseAmount(takerBuys ? d.makerFee! : d.takerFee!);
            add(buyer, 'USD', -quote);
            add(buyer, 'BTC', qty - buyerFee);
            add(seller, 'BTC', -qty);
            add(seller, 'USD', quote - sellerFee);
            for (const orderId of [d.makerOrderId!, d.takerOrderId!])
              filled.set(orderId, (filled.get(orderId) ?? 0n) + qty);
          }
        }
        const trades = events.filter((e) => e.type === 'exchange.OrderMatched').length;
        expect(trades).toBeGreaterThan(50);

        for (const account of DEMO_ACCOUNTS) {
          const response = await fetch(`${url}/balances`, {
            headers: { authorization: `Bearer ${account.token}` },
          });
          const { balances } = (await response.json()) as {
            balances: Record<string, { available: string; locked: string }>;
          };
          for (const asset of Object.keys(SEED_BALANCES)) {
            const held = parseAmount(balances[asset]!.available) + parseAmount(balances[asset]!.locked);
            expect(formatAmount(held), `${account.accountId} ${asset}`).toBe(
              formatAmount(expected.get(`${account.accountId}:${asset}`) ?? 0n),
            );
          }
        }

        // A fresh engine rebuilt from the stored events agrees: no order over-filled, funds conserved.
        const engine = new ExchangeEngine({ store, registry: new MessageRegistry(), streamId: stream });
        const check = await engine.read((x) => ({
          totals: x.totals(),
          orders: decidedIds.map((orderId) => x.order(orderId)!),
        }));
        for (const order of check.orders) {
          expect(parseAmount(order.filled)).toBe(filled.get(order.orderId) ?? 0n);
          expect(parseAmount(order.filled) <= parseAmount(order.amount)).toBe(true);
        }
        const seeded = (asset: string) => parseAmount(SEED_BALANCES[asset]!) * BigInt(DEMO_ACCOUNTS.length);
        expect(check.totals).toEqual({ USD: seeded('USD'), BTC: seeded('BTC'), ETH: seeded('ETH') });
      } finally {
        await store.close();
      }
    });
  },
);

describe('Idempotency-Key across two API processes (PostgreSQL event store, BullMQ)', () => {
  it('gives a retry sent to the other process the first answer, and changes nothing', async () => {
    const stream = `demo-mp-idem-${id}`;
    const env = { ...baseEnv, QUEUE_CONNECTION: 'bullmq', CACHE_DRIVER: 'memory', EXCHANGE_STREAM: stream };
    try {
      const [[, urlA], [, urlB]] = await Promise.all([
        startProcess('api', env, /listening on (http:\/\/\S+?)\/? /),
        startProcess('api', env, /listening on (http:\/\/\S+?)\/? /),
        startProcess('worker', env, /worker ready/),
      ]);
      const call = async (url: string, method: string, path: string, key: string, body?: unknown) => {
        const response = await fetch(`${url}${path}`, {
          method,
          headers: {
            authorization: 'Bearer demo-alice',
            'idempotency-key': key,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: response.status, body: await response.text() };
      };
      const order = { pair: 'ETH/USD', side: 'buy', type: 'limit', amount: '1', price: '1500' };
      const store = createPostgresEventStore({ connectionString: DATABASE_URL, schema });
      const recorded = async (key: string) =>
        (await store.readStream(stream)).filter(
          (e) => e.type === 'exchange.IdempotencyKeyRecorded' && e.data.key === key,
        );
      try {
        const first = await call(urlA!, 'POST', '/orders', 'mp-sync', order);
        expect(first.status).toBe(201);
        const retry = await call(urlB!, 'POST', '/orders', 'mp-sync', order);
        expect(retry).toEqual(first);
        const other = await call(urlB!, 'POST', '/orders', 'mp-sync', { ...order, price: '1501' });
        expect(other.status).toBe(422);
        expect(await recorded('mp-sync')).toHaveLength(1);

        // The same request at once through both processes: one order, one answer.
        const racing = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            call(i % 2 === 0 ? urlA! : urlB!, 'POST', '/orders', 'mp-race', order),
          ),
        );
        expect(new Set(racing.map((r) => r.status))).toEqual(new Set([201]));
        expect(new Set(racing.map((r) => r.body)).size).toBe(1);
        expect(await recorded('mp-race')).toHaveLength(1);

        const accepted = await call(urlA!, 'POST', '/orders?async=1', 'mp-async', order);
        expect(accepted.status).toBe(202);
        expect(await call(urlB!, 'POST', '/orders?async=1', 'mp-async', order)).toEqual(accepted);
        const { orderId } = JSON.parse(accepted.body) as { orderId: string };
        await eventually(async () => {
          const response = await fetch(`${urlB}/orders/${orderId}`, {
            headers: { authorization: 'Bearer demo-alice' },
          });
          return response.status === 200 ? true : undefined;
        }, 30_000);
        expect(await call(urlB!, 'POST', '/orders?async=1', 'mp-async', order)).toEqual(accepted);

        const cancelled = await call(urlB!, 'DELETE', `/orders/${orderId}`, 'mp-cancel');
        expect(cancelled.status).toBe(200);
        expect(await call(urlA!, 'DELETE', `/orders/${orderId}`, 'mp-cancel')).toEqual(cancelled);

        const events = await store.readStream(stream);
        const placedIds = events
          .filter((e) => e.type === 'exchange.OrderPlaced')
          .map((e) => e.data.orderId as string);
        expect(placedIds).toHaveLength(3);
        expect(placedIds).toContain(orderId);
        expect(events.filter((e) => e.type === 'exchange.OrderCancelled')).toHaveLength(1);
      } finally {
        await store.close();
      }
    } finally {
      await removeRedisPrefix(`${stream}-bull`);
    }
  });
});

// A process manager on PostgreSQL: the process store, the outbox and the schedule table in the
// same transactions, relayed to an in-memory transport whose worker runs the commands.
import {
  Command,
  type Cqrs,
  createCqrs,
  createProcessManager,
  DomainEvent,
  defineProcess,
  type ProcessManager,
  silentLogger,
} from '@finaegis/core';
import { createMemoryTransport } from '@finaegis/memory';
import {
  createOutboxRelay,
  createPostgresMessageScheduler,
  createPostgresProcessStore,
  createPostgresTransactionManager,
} from '@finaegis/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { freshSchema, waitUntil } from './helpers';

let db: Awaited<ReturnType<typeof freshSchema>>;
beforeAll(async () => {
  db = await freshSchema();
});
afterAll(async () => {
  await db?.drop();
});

class OrderPlaced extends DomainEvent {
  static readonly messageType = 'pgtest.OrderPlaced';
  constructor(
    readonly orderId: string,
    readonly breaks = false,
  ) {
    super({ aggregateId: orderId });
  }
}
class Counted extends DomainEvent {
  static readonly messageType = 'pgtest.Counted';
  constructor(readonly orderId: string) {
    super({ aggregateId: orderId });
  }
}
class Ship extends Command {
  static readonly messageType = 'pgtest.Ship';
  constructor(readonly orderId: string) {
    super();
  }
}
class Cancel extends Command {
  static readonly messageType = 'pgtest.Cancel';
  constructor(readonly orderId: string) {
    super();
  }
}

interface OrderState {
  readonly orderId: string;
  readonly count: number;
  readonly cancelled: boolean;
}

const timeoutSeconds = { value: 0.2 };
const orderProcess = defineProcess<OrderState, 'ship-by'>('pgtest.Order')
  .startedBy(
    OrderPlaced,
    (event) => event.orderId,
    (event, step) => {
      if (event.breaks) throw new RangeError('no warehouse for this order');
      step.send(new Ship(event.orderId));
      step.schedule('ship-by', timeoutSeconds.value);
      return { orderId: event.orderId, count: 0, cancelled: false };
    },
  )
  .on(
    Counted,
    (event) => event.orderId,
    (state) => ({ ...state, count: state.count + 1 }),
  )
  .onTimeout('ship-by', (state, step) => {
    step.send(new Cancel(state.orderId));
    step.complete();
    return { ...state, cancelled: true };
  });

interface World {
  app: Cqrs;
  processes: ProcessManager;
  commands: string[];
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  timeoutSeconds.value = 0.2;
});

async function world(timeouts: 'transport' | 'scheduler'): Promise<World> {
  const conn = { pool: db.pool, schema: db.schema };
  const transport = createMemoryTransport();
  const app = createCqrs({
    logger: silentLogger,
    transport,
    transactionManager: createPostgresTransactionManager(conn),
  });
  const relay = createOutboxRelay({ ...conn, transport, pollIntervalMs: 20, logger: silentLogger });
  const scheduler = createPostgresMessageScheduler({ ...conn, pollIntervalMs: 20, logger: silentLogger });
  const processes = createProcessManager(app, {
    store: createPostgresProcessStore(conn),
    processes: [orderProcess],
    ...(timeouts === 'scheduler' ? { scheduler } : {}),
    concurrency: { attempts: 100 },
  });
  const commands: string[] = [];
  app.commandBus.register(Ship, (command) => void commands.push(`ship ${command.orderId}`));
  app.commandBus.register(Cancel, (command) => void commands.push(`cancel ${command.orderId}`));
  const worker = await app.startWorker({ concurrency: 8 });
  await relay.start();
  if (timeouts === 'scheduler') await scheduler.start();
  closers.push(async () => {
    await processes.close();
    await worker.close();
    await relay.stop();
    await scheduler.stop();
    await app.close();
  });
  return { app, processes, commands };
}

const outboxRows = async (type: string) =>
  Number(
    (
      await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${db.schema}".outbox WHERE type = $1`, [
        type,
      ])
    ).rows[0]?.n,
  );

describe('a process manager on PostgreSQL', () => {
  test('a step commits its state with the outbox rows of its commands; a failing step leaves neither', async () => {
    timeoutSeconds.value = 60;
    const w = await world('transport');
    await w.app.eventBus.publish(new OrderPlaced('o1'));
    expect((await w.processes.get(orderProcess, 'o1'))?.status).toBe('running');
    await waitUntil(() => w.commands.includes('ship o1'), 'the Ship command relayed and run');
    expect(await outboxRows('pgtest.Ship')).toBe(1);

    await w.app.eventBus.publish(new OrderPlaced('o2', true));
    const failed = await w.processes.get(orderProcess, 'o2');
    expect(failed?.status).toBe('failed');
    expect(failed?.failure?.error.message).toBe('no warehouse for this order');
    expect(failed?.state).toBeUndefined();
    // Still only o1's command: the failed step's send was rolled back with it.
    expect(await outboxRows('pgtest.Ship')).toBe(1);
    expect(
      (await w.processes.list({ processType: 'pgtest.Order', status: 'failed' })).map((p) => p.processId),
    ).toEqual(['o2']);
  });

  test('40 concurrent events for one process are all counted (row lock + version check, retried)', async () => {
    timeoutSeconds.value = 60;
    const w = await world('transport');
    await w.app.eventBus.publish(new OrderPlaced('o3'));
    await Promise.all(Array.from({ length: 40 }, () => w.app.eventBus.publish(new Counted('o3'))));
    const details = await w.processes.get(orderProcess, 'o3');
    expect(details?.state?.count).toBe(40);
    expect(details?.history).toHaveLength(41);
    expect(w.processes.stats().conflicts).toBeGreaterThan(0);
  });

  test('a timeout travels through the outbox with its delay and fires', async () => {
    const w = await world('transport');
    await w.app.eventBus.publish(new OrderPlaced('o4'));
    await waitUntil(() => w.commands.includes('cancel o4'), 'the timeout to cancel the order');
    const details = await w.processes.get(orderProcess, 'o4');
    expect(details?.status).toBe('completed');
    expect(details?.history.at(-1)?.kind).toBe('timeout');
  });

  test('a timeout through the schedule table waits there until due, then fires', async () => {
    timeoutSeconds.value = 0.5;
    const w = await world('scheduler');
    await w.app.eventBus.publish(new OrderPlaced('o5'));
    const { rows } = await db.pool.query<{ due_in_ms: string }>(
      `SELECT (extract(epoch FROM due_at - now()) * 1000)::bigint AS due_in_ms
       FROM "${db.schema}".scheduled_messages WHERE key = 'o5'`,
    );
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.due_in_ms)).toBeGreaterThan(0);
    await waitUntil(() => w.commands.includes('cancel o5'), 'the scheduled timeout to cancel the order');
    const details = await w.processes.get(orderProcess, 'o5');
    expect(details?.status).toBe('completed');
    expect(details!.history.at(-1)!.at).toBeGreaterThanOrEqual(details!.startedAt + 500);
    expect(
      (await db.pool.query(`SELECT 1 FROM "${db.schema}".scheduled_messages WHERE key = 'o5'`)).rows,
    ).toHaveLength(0);
  });

  test('a timeout scheduled by a step that failed is never kept', async () => {
    const w = await world('scheduler');
    await w.app.eventBus.publish(new OrderPlaced('o6', true));
    expect((await w.processes.get(orderProcess, 'o6'))?.status).toBe('failed');
    expect(
      (await db.pool.query(`SELECT 1 FROM "${db.schema}".scheduled_messages WHERE key = 'o6'`)).rows,
    ).toHaveLength(0);
  });
});

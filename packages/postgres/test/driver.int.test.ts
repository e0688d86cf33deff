import { Command, composeCqrs, configFromEnv, type Persistence, silentLogger } from '@finaegis/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postgresDriver } from '../src/index';
import { DATABASE_URL, openPool, RecordingTransport, testSchemaName } from './helpers';

class Ping extends Command<void> {
  static readonly messageType = 'driver.Ping';
}

const schema = testSchemaName();
const env = { EVENT_STORE: 'postgres', DATABASE_URL, EVENT_STORE_SCHEMA: schema, DATABASE_POOL_SIZE: '4' };
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  await (await openPool()).end();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((closable) => closable.close()));
});
afterAll(async () => {
  const pool = await openPool();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

function persistenceFrom(vars: Record<string, string>): Promise<Persistence> {
  const config = configFromEnv({ ...env, ...vars });
  return postgresDriver.persistence!.postgres!({ config, logger: silentLogger });
}

describe('postgresDriver', () => {
  it('migrates EVENT_STORE_SCHEMA and builds the stores on one pool, each reporting the database', async () => {
    const persistence = await persistenceFrom({});
    open.push(persistence);
    expect(persistence.outbox).toBe(true);
    await persistence.eventStore.append(
      'stream-1',
      [{ eventId: 'e-1', type: 't', data: {}, metadata: {}, occurredAt: Date.now() }],
      { expectedVersion: 'no_stream' },
    );
    await persistence.checkpointStore.save('projection', 1);
    expect(await persistence.checkpointStore.load('projection')).toBe(1);
    expect(await persistence.eventStore.health?.()).toEqual([{ name: 'database', status: 'up' }]);
    expect(await persistence.transactionManager.health?.()).toEqual([{ name: 'database', status: 'up' }]);
    await persistence.close();
    expect(await persistence.eventStore.health?.()).toMatchObject([{ name: 'database', status: 'down' }]);
  });

  it('reports the database down when it does not answer', async () => {
    const persistence = await persistenceFrom({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test',
      DATABASE_MIGRATE: 'false',
    });
    open.push(persistence);
    expect(await persistence.eventStore.health?.()).toMatchObject([{ name: 'database', status: 'down' }]);
  });

  it('runs a relay whose flush sends what the outbox holds before it stops', async () => {
    const transport = new RecordingTransport();
    const app = await composeCqrs({
      config: configFromEnv(env),
      adapters: { transport },
      logger: silentLogger,
    });
    open.push(app);
    expect(app.outbox).toBe(true);
    const health = await app.health();
    expect(health.components.find((c) => c.component === 'relay')?.checks.map((c) => c.name)).toEqual([
      'relay',
      'outbox',
    ]);
    // Written in a transaction; the relay's next poll is a second away, the shutdown flush is sooner.
    await app.dispatchAsync(new Ping());
    const report = await app.shutdown();
    expect(report.steps.map((s) => s.step)).toContain('flush outbox');
    expect(transport.sent.map((s) => s.message.type)).toEqual(['driver.Ping']);
  });
});

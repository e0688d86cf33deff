import {
  type SendOptions,
  type Transport,
  type TransportFeatures,
  type TransportMessage,
  UnsupportedFeatureError,
} from '@finaegis/core';
import { assertSendSupported } from '@finaegis/core/adapter';
import { DEFAULT_DATABASE_URL, migrate } from '@finaegis/postgres';
import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;

/** A schema name of its own for one test file: `t_<random>`. */
export function testSchemaName(): string {
  return `t_${Math.random().toString(36).slice(2, 10)}`;
}

/** A pool on the test database; fails with a clear message when PostgreSQL is not there. */
export async function openPool(max = 20): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max });
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end();
    throw new Error(
      `PostgreSQL is needed for these tests and was not reachable at ${DATABASE_URL} (set DATABASE_URL): ${(error as Error).message}`,
      { cause: error },
    );
  }
  return pool;
}

/** A pool and a freshly migrated schema; `drop()` removes the schema and ends the pool. */
export async function freshSchema(
  max = 20,
): Promise<{ pool: pg.Pool; schema: string; drop(): Promise<void> }> {
  const pool = await openPool(max);
  const schema = testSchemaName();
  await migrate({ pool, schema });
  return {
    pool,
    schema,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

/** A transport that records what it was sent (the relay's destination in tests). */
export class RecordingTransport implements Transport {
  readonly name = 'recording';
  readonly features: TransportFeatures = {
    delay: true,
    priority: true,
    orderingByKey: true,
    consumerGroups: false,
    deadLetter: false,
    dedupe: true,
    persistent: false,
    depth: false,
  };
  readonly sent: { channel: string; message: TransportMessage; options: SendOptions | undefined }[] = [];
  /** Fails the next `failures` sends. */
  failures = 0;
  failWith: () => Error = () => new Error('transport down');

  async send(channel: string, message: TransportMessage, options?: SendOptions): Promise<void> {
    assertSendSupported(this, options);
    if (this.failures > 0) {
      this.failures--;
      throw this.failWith();
    }
    this.sent.push({ channel, message, options });
  }

  // The relay only sends; a test that needs consumers uses a real transport.
  async consume(): Promise<never> {
    throw new UnsupportedFeatureError(this.name, 'consume');
  }
  async deadLetters(): Promise<never> {
    throw new UnsupportedFeatureError(this.name, 'deadLetter');
  }
  async redrive(): Promise<never> {
    throw new UnsupportedFeatureError(this.name, 'deadLetter');
  }
  async depth(): Promise<never> {
    throw new UnsupportedFeatureError(this.name, 'depth');
  }
  async close(): Promise<void> {}
}

export function message(id: string, body = `body-${id}`, key?: string): TransportMessage {
  return { id, type: 'test.Message', body, headers: { 'x-test': 'yes' }, ...(key ? { key } : {}) };
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

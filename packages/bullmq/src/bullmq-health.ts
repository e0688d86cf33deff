import type { HealthCheck } from '@finaegis/core';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';

/** A BullMQ worker the transport started for one consumer group of a channel. */
export interface ConsumerWorker {
  readonly worker: Worker;
  readonly channel: string;
  readonly group: string;
}

/** How long the PING may take before Redis is reported down. */
const PING_TIMEOUT_MS = 1_500;

async function ping(client: Redis): Promise<HealthCheck> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = await Promise.race([
      client.ping(),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`no answer within ${PING_TIMEOUT_MS} ms`), PING_TIMEOUT_MS);
      }),
    ]);
    return answer === 'PONG'
      ? { name: 'redis', status: 'up' }
      : { name: 'redis', status: 'down', detail: `${answer} (connection ${client.status})` };
  } catch (error) {
    return { name: 'redis', status: 'down', detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The transport's health: Redis answering a PING on the transport's connection, and each consumer's
 * worker running (a worker stops only when closed; while Redis is away it keeps running and
 * reconnects, which the `redis` check shows). `client` is undefined once the transport is closed.
 */
export async function transportHealth(
  client: Redis | undefined,
  workers: ReadonlySet<ConsumerWorker>,
): Promise<readonly HealthCheck[]> {
  if (client === undefined) return [{ name: 'transport', status: 'down', detail: 'closed' }];
  const consumers: HealthCheck[] = [...workers].map(({ worker, channel, group }) => {
    const name = `consumer ${channel}/${group}`;
    if (!worker.isRunning()) return { name, status: 'down', detail: 'worker not running' };
    if (worker.isPaused()) return { name, status: 'down', detail: 'worker paused' };
    return { name, status: 'up' };
  });
  return [await ping(client), ...consumers];
}

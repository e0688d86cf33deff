import type { HealthCheck } from '@finaegis/core';
import type { KafkaRuntime } from './consumer-state';
import type { KafkaTransportOptions } from './kafka-options';

/** A consumer that stopped for good (see `onConsumerFailure`). */
export interface ConsumerFailure {
  readonly channel: string;
  readonly group: string;
  readonly error: Error;
}

/** How long the cluster may take to describe itself before the broker is reported down. */
const BROKER_TIMEOUT_MS = 1_500;

/** The options, with `onConsumerFailure` also recording each failure in `failures`. */
export function recordingFailures(
  options: KafkaTransportOptions,
  failures: ConsumerFailure[],
): KafkaTransportOptions {
  const given = options.onConsumerFailure;
  return {
    ...options,
    onConsumerFailure: (error, consumer) => {
      failures.push({ ...consumer, error });
      given?.(error, consumer);
    },
  };
}

async function broker(runtime: KafkaRuntime): Promise<HealthCheck> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const described = await Promise.race([
      runtime.topics.admin().then((admin) => admin.describeCluster()),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), BROKER_TIMEOUT_MS);
      }),
    ]);
    if (described === undefined) {
      return { name: 'broker', status: 'down', detail: `no answer within ${BROKER_TIMEOUT_MS} ms` };
    }
    return { name: 'broker', status: 'up', detail: `${described.brokers.length} broker(s)` };
  } catch (error) {
    return { name: 'broker', status: 'down', detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The transport's health: the cluster answering (through the transport's admin client), each
 * consumer in its group (`down` while it rebalances or rides out a lost broker), and each consumer
 * that stopped for good (`failed`: only a restart brings it back).
 */
export async function transportHealth(
  runtime: KafkaRuntime | undefined,
  failures: readonly ConsumerFailure[],
): Promise<readonly HealthCheck[]> {
  if (runtime === undefined) return [{ name: 'transport', status: 'down', detail: 'closed' }];
  const consumers: HealthCheck[] = [...runtime.consumers].map((state) => {
    const name = `consumer ${state.channel}/${state.group}`;
    if (state.downSince !== undefined) {
      return {
        name,
        status: 'down',
        detail: `broker lost ${Date.now() - state.downSince} ms ago, reconnecting`,
      };
    }
    if (state.rebalancing) return { name, status: 'down', detail: 'rejoining its group (rebalance)' };
    return { name, status: 'up', detail: `joined, ${state.assigned.size} partition(s)` };
  });
  const failed: HealthCheck[] = failures.map(({ channel, group, error }) => ({
    name: `consumer ${channel}/${group}`,
    status: 'failed',
    detail: error.message,
  }));
  return [await broker(runtime), ...consumers, ...failed];
}

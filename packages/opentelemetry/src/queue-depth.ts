import { type Transport, UnsupportedFeatureError } from '@finaegis/core';
import { type Attributes, type MeterProvider, metrics, type ObservableResult } from '@opentelemetry/api';
import { ATTR, METRIC } from './conventions';
import { pollEvery, pollInterval } from './poller';
import { SCOPE_NAME } from './version';

/** One queue to watch: a channel, as seen by one consumer group. */
export interface QueueDepthTarget {
  readonly channel: string;
  readonly group?: string;
}

/** Options of `observeQueueDepth()`. */
export interface ObserveQueueDepthOptions {
  /** Default: the global meter provider. */
  readonly meterProvider?: MeterProvider;
  /** How often the transport is asked, in ms. Default 5000. Scrapes never ask it themselves. */
  readonly intervalMs?: number;
  /** `messaging.system` on the gauge. Default: the transport's `name`. */
  readonly system?: string;
}

/** A running observation: `refresh()` polls now (tests, start-up), `close()` stops polling. */
export interface Observation {
  refresh(): Promise<void>;
  close(): void;
}

const ADAPTER = '@finaegis/opentelemetry';

/**
 * Reports `finaegis.queue.depth` per channel and group, fed by `transport.depth()`. The cost is
 * bounded whatever the scrape rate: one poll every `intervalMs`, asking one queue at a time and
 * never starting a poll while one is running; a scrape reports the last values. A queue whose
 * `depth()` failed reports nothing until it answers again (a stale depth would mislead).
 */
export function observeQueueDepth(
  transport: Transport,
  targets: readonly QueueDepthTarget[],
  options: ObserveQueueDepthOptions = {},
): Observation {
  if (!transport.features.depth)
    throw new UnsupportedFeatureError(transport.name, 'depth', undefined, { adapter: ADAPTER });
  const intervalMs = pollInterval(options.intervalMs);
  const system = options.system ?? transport.name;
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE_NAME);
  const gauge = meter.createObservableGauge(METRIC.queueDepth, {
    description: 'Messages waiting (delayed and in flight included) in a channel for a consumer group.',
    unit: '{message}',
  });
  const last = new Map<QueueDepthTarget, number>();
  const attributes = new Map<QueueDepthTarget, Attributes>(
    targets.map((target) => [
      target,
      {
        [ATTR.messagingSystem]: system,
        [ATTR.destinationName]: target.channel,
        ...(target.group === undefined ? {} : { [ATTR.consumerGroupName]: target.group }),
      },
    ]),
  );
  const observe = (result: ObservableResult) => {
    for (const [target, depth] of last) result.observe(depth, attributes.get(target));
  };
  gauge.addCallback(observe);

  return pollEvery(
    intervalMs,
    async (closed) => {
      for (const target of targets) {
        if (closed()) break;
        try {
          last.set(
            target,
            await transport.depth(target.channel, target.group === undefined ? {} : { group: target.group }),
          );
        } catch {
          last.delete(target);
        }
      }
    },
    () => {
      gauge.removeCallback(observe);
    },
  );
}

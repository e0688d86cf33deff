import type { EventStore, Projector } from '@finaegis/core';
import { type MeterProvider, metrics, type ObservableResult } from '@opentelemetry/api';
import { ATTR, METRIC } from './conventions';
import { pollEvery, pollInterval } from './poller';
import type { Observation } from './queue-depth';
import { SCOPE_NAME } from './version';

/** A projector and the store it reads (the age of its oldest unapplied event is read from it). */
export interface ProjectionLagTarget {
  readonly projector: Projector;
  readonly store: EventStore;
}

/** Options of `observeProjectionLag()`. */
export interface ObserveProjectionLagOptions {
  /** Default: the global meter provider. */
  readonly meterProvider?: MeterProvider;
  /** How often the lag is computed, in ms. Default 5000. */
  readonly intervalMs?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

const _ADAPTER = '@finaegis/opentelemetry';

/**
 * Reports `finaegis.projection.lag.positions` (events behind the store, `projector.lag()`) and
 * `finaegis.projection.lag` (seconds since the oldest event it has not applied occurred; 0 when
 * caught up) per projection, polled every `intervalMs` (two small reads per projector).
 */
export function observeProjectionLag(
  targets: readonly ProjectionLagTarget[],
  options: ObserveProjectionLagOptions = {},
): Observation {
  const intervalMs = pollInterval(options.intervalMs);
  const now = options.now ?? Date.now;
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE_NAME);
  const positionsGauge = meter.createObservableGauge(METRIC.projectionLagPositions, {
    description: 'Events a projection is behind the event store.',
    unit: '{event}',
  });
  const secondsGauge = meter.createObservableGauge(METRIC.projectionLag, {
    description: 'Age of the oldest event a projection has not applied yet (0 when caught up).',
    unit: 's',
  });
  const last = new Map<string, { positions: number; seconds: number }>();
  const observePositions = (result: ObservableResult) => {
    for (const [name, lag] of last) result.observe(lag.positions, { [ATTR.projection]: name });
  };
  const observeSeconds = (result: ObservableResult) => {
    for (const [name, lag] of last) result.observe(lag.seconds, { [ATTR.projection]: name });
  };
  positionsGauge.addCallback(observePositions);
  secondsGauge.addCallback(observeSeconds);

  return pollEvery(
    intervalMs,
    async (closed) => {
      for (const { projector, store } of targets) {
        if (closed()) break;
        const name = projector.projection.name;
        try {
          const positions = await projector.lag();
          let seconds = 0;
          if (positions > 0) {
            const [oldest] = await store.readAll({ after: await projector.checkpoint(), limit: 1 });
            if (oldest !== undefined) seconds = Math.max(0, now() - oldest.occurredAt) / 1000;
          }
          last.set(name, { positions, seconds });
        } catch {
          last.delete(name);
        }
      }
    },
    () => {
      positionsGauge.removeCallback(observePositions);
      secondsGauge.removeCallback(observeSeconds);
    },
  );
}

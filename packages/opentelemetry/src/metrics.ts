import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { IN_PROCESS_DURATION_BUCKETS, LAG_BUCKETS, MESSAGING_DURATION_BUCKETS, METRIC } from './conventions';

/** @internal The instruments the hooks record into. */
export interface Instruments {
  readonly processDuration: Histogram;
  readonly clientOperationDuration: Histogram;
  readonly clientSentMessages: Counter;
  readonly commandDuration: Histogram;
  readonly queryDuration: Histogram;
  readonly eventDuration: Histogram;
  readonly cacheCalls: Counter;
  readonly eventLag: Histogram;
  readonly messageLag: Histogram;
  readonly errors: Counter;
  readonly deadLettered: Counter;
}

/** @internal */
export function createInstruments(meter: Meter): Instruments {
  const seconds = (name: string, description: string, buckets: number[]) =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: buckets },
    });
  return {
    processDuration: seconds(
      METRIC.processDuration,
      'Duration of a worker handling one message.',
      MESSAGING_DURATION_BUCKETS,
    ),
    clientOperationDuration: seconds(
      METRIC.clientOperationDuration,
      'Duration of sending one message (or enqueueing it in an outbox).',
      MESSAGING_DURATION_BUCKETS,
    ),
    clientSentMessages: meter.createCounter(METRIC.clientSentMessages, {
      description: 'Messages sent (or enqueued in an outbox).',
      unit: '{message}',
    }),
    commandDuration: seconds(
      METRIC.commandDuration,
      'Duration of an in-process command dispatch.',
      IN_PROCESS_DURATION_BUCKETS,
    ),
    queryDuration: seconds(
      METRIC.queryDuration,
      'Duration of an in-process query (ask, askCached).',
      IN_PROCESS_DURATION_BUCKETS,
    ),
    eventDuration: seconds(
      METRIC.eventDuration,
      'Duration of an in-process event publish (all its subscribers).',
      IN_PROCESS_DURATION_BUCKETS,
    ),
    cacheCalls: meter.createCounter(METRIC.cacheCalls, {
      description: 'askCached calls by result: hit, miss or coalesced.',
      unit: '{call}',
    }),
    eventLag: seconds(
      METRIC.eventLag,
      "Time from an event's occurrence to the end of its handling by a worker.",
      LAG_BUCKETS,
    ),
    messageLag: seconds(
      METRIC.messageLag,
      "Time from a message's send to the end of its handling by a worker.",
      LAG_BUCKETS,
    ),
    errors: meter.createCounter(METRIC.errors, {
      description: 'Failed dispatches, queries, publishes, sends and handlings.',
      unit: '{error}',
    }),
    deadLettered: meter.createCounter(METRIC.deadLettered, {
      description: 'Messages dead-lettered by a failed handling (last attempt or not retryable).',
      unit: '{message}',
    }),
  };
}

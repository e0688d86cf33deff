import { isRetryable } from '../adapter/retry';
import { ENVELOPE_CONTENT_TYPE } from '../buses/shared';
import type { TransportMessage } from '../ports/transport';
import type { ProcessHost } from './manager-types';
import type { MessageScheduler } from './message-scheduler';
import { ProcessTimeout } from './process-timeout';
import { StepFailure } from './step-failure';
import type { Effects } from './step-runner';

/**
 * @internal Sends the commands and arms the timeouts a step asked for, inside the step's
 * transaction (held until commit, or written to the outbox / schedule table).
 */
export async function applyEffects(
  host: ProcessHost,
  scheduler: MessageScheduler | undefined,
  effects: Effects,
  now: () => number,
): Promise<void> {
  try {
    for (const { command, options } of effects.sends) await host.commandBus.dispatchAsync(command, options);
    for (const timeout of effects.timeouts) await arm(host, scheduler, timeout, now);
  } catch (error) {
    // A command the step built wrong, a delay the transport refuses: the step's fault, shown on
    // the process. Anything else (the database, the broker) is retried by the caller's transport.
    if (!isRetryable(error)) throw new StepFailure(error);
    throw error;
  }
}

/** Through the transport's delay, or through the scheduler when there is one. */
async function arm(
  host: ProcessHost,
  scheduler: MessageScheduler | undefined,
  timeout: ProcessTimeout,
  now: () => number,
) {
  if (scheduler === undefined) {
    const delayMs = Math.max(0, timeout.dueAt - now());
    await host.eventBus.publishAsync(timeout, delayMs > 0 ? { delay: delayMs / 1000 } : {});
    return;
  }
  const message: TransportMessage = {
    id: timeout.messageId,
    type: ProcessTimeout.messageType,
    body: host.registry.encode(timeout, 'event'),
    headers: { 'content-type': ENVELOPE_CONTENT_TYPE, 'message-kind': 'event' },
    key: timeout.processId,
  };
  await scheduler.schedule(host.config.eventBus.asyncQueue, message, timeout.dueAt);
}

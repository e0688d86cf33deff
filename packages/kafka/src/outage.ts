import { BrokerUnavailableError } from './broker-unavailable-error';
import { NotEnoughReplicasError } from './not-enough-replicas-error';

/**
 * Riding out a broker outage. kafkajs retries inside each call, but its retriers are nested (a
 * produce retries, and under it the broker pool retries its connection) and the inner one, once
 * out of retries (about 10 s with kafkajs' defaults), turns the connection error into a
 * non-retriable one, which ends the outer retries too: a send made while the broker restarts fails
 * with `KafkaJSNonRetriableError: Connection error: connect ECONNREFUSED` as soon as the restart
 * takes longer than that. The transport therefore repeats such calls itself, for a time it is
 * configured with rather than a count of attempts, and reports a typed error when that is over.
 */

/** kafkajs errors that mean "no broker answered", as opposed to a broker that answered "no". */
const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSLockTimeout',
  'KafkaJSGroupCoordinatorNotFound',
]);

/** Codes of a broker that is (re)starting: leaders and coordinators not elected or loaded yet. */
const STARTING = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'NOT_COORDINATOR',
  'NOT_CONTROLLER',
  'REQUEST_TIMED_OUT',
  'BROKER_NOT_AVAILABLE',
]);

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/** Whether an error (or one of its causes) says the brokers could not be reached. */
export function isBrokerUnreachable(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const { code, type } = e as { code?: unknown; type?: unknown };
    if (UNREACHABLE.has(e.name)) return true;
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return true;
    if (typeof type === 'string' && STARTING.has(type)) return true;
  }
  return false;
}

/** Whether a broker answered that it does not host the topic (or partition) asked for. */
export function isUnknownTopic(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if ((e as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
  }
  return false;
}

/** Whether a broker refused a write for want of in-sync replicas (brokers down or lagging). */
export function isNotEnoughReplicas(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const { type } = e as { type?: unknown };
    if (type === 'NOT_ENOUGH_REPLICAS' || type === 'NOT_ENOUGH_REPLICAS_AFTER_APPEND') return true;
  }
  return false;
}

/**
 * Runs a call again while it fails because a broker does not know a topic that was just created
 * (metadata reaches the broker a moment after the controller created the topic), up to `attempts`
 * times, waiting a little longer each time.
 */
export async function whileTopicUnknown<T>(attempts: number, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isUnknownTopic(error) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** One wait between attempts: short at first, then every two seconds. */
export function outageBackoff(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 2_000);
}

/**
 * Waits `ms`, or less when one of the functions in `wakeUps` is called (close and crash call them
 * all, so that nothing waits on a transport that is going away).
 */
export function wakeableWait(wakeUps: Set<() => void>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      wakeUps.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    wakeUps.add(wake);
  });
}

/** Rides out outages for one transport: its `outageTimeoutMs`, and its waits that close ends. */
export class OutageRider {
  readonly #timeoutMs: number;
  readonly #closed: () => boolean;
  /** Waits between attempts during an outage; close ends them at once. */
  readonly #waits = new Set<() => void>();

  constructor(timeoutMs: number, closed: () => boolean) {
    this.#timeoutMs = timeoutMs;
    this.#closed = closed;
  }

  /**
   * Runs a kafkajs call, and runs it again while it fails for want of a broker (or of in-sync
   * replicas), for up to `outageTimeoutMs` from the first attempt; then, or once the transport is
   * closing, rejects with `BrokerUnavailableError` (or `NotEnoughReplicasError`). Other errors (a
   * broker that answered "no") pass through at once.
   */
  async rideOut<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const since = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const tooFewReplicas = isNotEnoughReplicas(error);
        if (!tooFewReplicas && !isBrokerUnreachable(error)) throw error;
        const waited = Date.now() - since;
        const why =
          waited >= this.#timeoutMs
            ? `outageTimeoutMs is ${this.#timeoutMs}`
            : this.#closed()
              ? 'the transport was closed while waiting'
              : undefined;
        if (why !== undefined) {
          const Failure = tooFewReplicas ? NotEnoughReplicasError : BrokerUnavailableError;
          throw new Failure(operation, waited, { cause: error, why });
        }
        await wakeableWait(this.#waits, Math.min(outageBackoff(attempt), this.#timeoutMs - waited));
      }
    }
  }

  /** Ends the waits in progress (on close), so that their calls give up at once. */
  wakeAll(): void {
    for (const wake of [...this.#waits]) wake();
  }
}

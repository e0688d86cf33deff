import type { Message, TopicMessages } from 'kafkajs';

/** The records of one produce request, and the promise every send in it waits for. */
interface Request {
  readonly byTopic: Map<string, Message[]>;
  size: number;
  readonly sent: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

function openRequest(): Request {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const sent = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { byTopic: new Map(), size: 0, sent, resolve, reject };
}

/**
 * Groups sends into produce requests. kafkajs sends one request per `send` call; with an
 * idempotent producer (one request in flight) concurrent sends would queue one by one. Here the
 * sends that arrive while a request is in flight go together in the next one, so throughput grows
 * with load while a lone send still leaves at once. Each send resolves when its request is
 * acknowledged, and rejects with that request's error. The sends of one request share one promise:
 * at tens of thousands of sends a second, a promise and two closures per send are a cost that
 * shows.
 */
export class SendBatcher {
  /** Requests not sent yet, oldest first; sends join the last one until it is full. */
  private readonly waiting: Request[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly produce: (topicMessages: TopicMessages[]) => Promise<void>,
    private readonly maxBatch: number,
  ) {}

  add(topic: string, message: Message): Promise<void> {
    let request = this.waiting[this.waiting.length - 1];
    if (request === undefined || request.size >= this.maxBatch) {
      request = openRequest();
      this.waiting.push(request);
    }
    const list = request.byTopic.get(topic);
    if (list) list.push(message);
    else request.byTopic.set(topic, [message]);
    request.size++;
    this.flushing ??= this.flushLoop();
    return request.sent;
  }

  /** Resolves once everything queued so far has been sent (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flushLoop(): Promise<void> {
    try {
      // Let the sends of the current tick join the first request.
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (let request = this.waiting.shift(); request; request = this.waiting.shift()) {
        try {
          await this.produce([...request.byTopic].map(([topic, messages]) => ({ topic, messages })));
          request.resolve();
        } catch (error) {
          request.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }
}

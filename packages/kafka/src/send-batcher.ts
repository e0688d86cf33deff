import type { Message, TopicMessages } from 'kafkajs';

interface Pending {
  readonly topic: string;
  readonly message: Message;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Groups sends into produce requests. kafkajs sends one request per `send` call; with an
 * idempotent producer (one request in flight) concurrent sends would queue one by one. Here the
 * sends that arrive while a request is in flight go together in the next one, so throughput grows
 * with load while a lone send still leaves at once. Each send resolves when its request is
 * acknowledged, and rejects with that request's error.
 */
export class SendBatcher {
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly produce: (topicMessages: TopicMessages[]) => Promise<void>,
    private readonly maxBatch: number,
  ) {}

  add(topic: string, message: Message): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** Resolves once everything queued so far has been sent (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flushLoop(): Promise<void> {
    try {
      // Let the sends of the current tick join the first request.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        const byTopic = new Map<string, Message[]>();
        for (const item of batch) {
          const list = byTopic.get(item.topic);
          if (list) list.push(item.message);
          else byTopic.set(item.topic, [item.message]);
        }
        try {
          await this.produce([...byTopic].map(([topic, messages]) => ({ topic, messages })));
          for (const item of batch) item.resolve();
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }
}

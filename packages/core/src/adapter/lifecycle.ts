import { TransportClosedError } from '../errors/transport-closed-error';

/**
 * The open/closing/closed life of an adapter, so that every adapter answers a call after `close()`
 * the same way (`TransportClosedError`) and closes once however often `close()` is called.
 */
export class Lifecycle {
  readonly #adapter: string;
  #closing: Promise<void> | undefined;

  constructor(adapter: string) {
    this.#adapter = adapter;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** @throws TransportClosedError once `close()` has been called. */
  assertOpen(operation: string): void {
    if (this.#closing !== undefined) throw new TransportClosedError(this.#adapter, operation);
  }

  /** Runs `shutdown` once; later calls wait for the same shutdown. */
  close(shutdown: () => Promise<void>): Promise<void> {
    this.#closing ??= shutdown();
    return this.#closing;
  }
}

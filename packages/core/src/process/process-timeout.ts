import { DomainEvent, invalid } from '../messages';

/**
 * The message a process manager sends itself for a timeout. It travels like any event (key: the
 * process id), delayed by the transport or held by a `MessageScheduler` until due. When it
 * arrives the process handles it with its `onTimeout` handler, unless the process has ended, the
 * timeout was cancelled, or it was armed again since (then this one is stale and ignored).
 */
export class ProcessTimeout extends DomainEvent {
  static readonly messageType = 'finaegis.ProcessTimeout';

  constructor(
    /** The definition's stable name. */
    readonly processType: string,
    /** The process it belongs to (its correlation). */
    readonly processId: string,
    /** The timeout's name, as the definition's `onTimeout` names it. */
    readonly name: string,
    /** When it was due (ms since the epoch). */
    readonly dueAt: number,
  ) {
    super({ aggregateId: processId, aggregateType: processType });
    this.validate();
  }

  /** Checked again when the message is rebuilt from the wire. */
  validate(): void {
    const text = (value: unknown) =>
      typeof value === 'string' && value !== '' ? [] : ['must be a non-empty string'];
    invalid(this, {
      processType: text(this.processType),
      processId: text(this.processId),
      name: text(this.name),
      dueAt: Number.isFinite(this.dueAt) ? [] : ['must be a number of ms since the epoch'],
    });
  }
}

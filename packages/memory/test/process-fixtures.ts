// A small payout flow for the process manager tests: requested → reserve → pay (with a timeout)
// → settle, or release when the payout fails or never answers.
import {
  Command,
  type Cqrs,
  createCqrs,
  createProcessManager,
  DomainEvent,
  defineProcess,
  type MessageScheduler,
  type ProcessManagerOptions,
  silentLogger,
  type Transport,
} from '@finaegis/core';
import {
  createMemoryProcessStore,
  createMemoryTransactionManager,
  createMemoryTransport,
  type MemoryProcessStore,
} from '../src/index';

export class PayoutRequested extends DomainEvent {
  static readonly messageType = 'test.PayoutRequested';
  constructor(
    readonly payoutId: string,
    readonly amount: string,
  ) {
    super({ aggregateId: payoutId });
  }
}
export class FundsReserved extends DomainEvent {
  static readonly messageType = 'test.FundsReserved';
  constructor(readonly payoutId: string) {
    super({ aggregateId: payoutId });
  }
}
export class PayoutConfirmed extends DomainEvent {
  static readonly messageType = 'test.PayoutConfirmed';
  constructor(readonly payoutId: string) {
    super({ aggregateId: payoutId });
  }
}
export class PayoutRejected extends DomainEvent {
  static readonly messageType = 'test.PayoutRejected';
  constructor(
    readonly payoutId: string,
    readonly reason: string,
  ) {
    super({ aggregateId: payoutId });
  }
}
/** Bumps a counter of the process (for the concurrency tests). */
export class Tick extends DomainEvent {
  static readonly messageType = 'test.Tick';
  constructor(readonly payoutId: string) {
    super({ aggregateId: payoutId });
  }
}

export class ReserveFunds extends Command {
  static readonly messageType = 'test.ReserveFunds';
  constructor(
    readonly payoutId: string,
    readonly amount: string,
  ) {
    super();
  }
}
export class SendPayout extends Command {
  static readonly messageType = 'test.SendPayout';
  constructor(readonly payoutId: string) {
    super();
  }
}
export class SettleFunds extends Command {
  static readonly messageType = 'test.SettleFunds';
  constructor(readonly payoutId: string) {
    super();
  }
}
export class ReleaseFunds extends Command {
  static readonly messageType = 'test.ReleaseFunds';
  constructor(
    readonly payoutId: string,
    readonly why: string,
  ) {
    super();
  }
}

export interface PayoutState {
  readonly payoutId: string;
  readonly amount: string;
  readonly stage: 'reserving' | 'paying' | 'settled' | 'released';
  readonly ticks: number;
  readonly requestedAt: Date;
}

/** Set by a test to make the `FundsReserved` step throw (a bug in the step). */
export const faults = { reservedStepThrows: false };

export const payoutProcess = defineProcess<PayoutState, 'payout'>('test.Payout')
  .startedBy(
    PayoutRequested,
    (event) => event.payoutId,
    (event, step) => {
      step.send(new ReserveFunds(event.payoutId, event.amount));
      return {
        payoutId: event.payoutId,
        amount: event.amount,
        stage: 'reserving',
        ticks: 0,
        requestedAt: event.occurredAt,
      };
    },
  )
  .on(
    FundsReserved,
    (event) => event.payoutId,
    (state, _event, step) => {
      if (faults.reservedStepThrows) throw new TypeError('payout provider address missing');
      step.send(new SendPayout(state.payoutId));
      step.schedule('payout', payoutTimeout.seconds);
      return { ...state, stage: 'paying' };
    },
  )
  .on(
    PayoutConfirmed,
    (event) => event.payoutId,
    (state, _event, step) => {
      if (state.stage !== 'paying') return undefined;
      step.cancel('payout');
      step.send(new SettleFunds(state.payoutId));
      step.complete();
      return { ...state, stage: 'settled' };
    },
  )
  .on(
    PayoutRejected,
    (event) => event.payoutId,
    (state, event, step) => {
      step.send(new ReleaseFunds(state.payoutId, event.reason));
      step.complete();
      return { ...state, stage: 'released' };
    },
  )
  .on(
    Tick,
    (event) => event.payoutId,
    (state) => ({ ...state, ticks: state.ticks + 1 }),
  )
  .onTimeout('payout', (state, step) => {
    step.send(new ReleaseFunds(state.payoutId, 'timeout'));
    step.complete();
    return { ...state, stage: 'released' };
  })
  .compensateWith((state, step) => {
    if (state !== undefined) step.send(new ReleaseFunds(state.payoutId, 'compensated'));
    return state;
  });

/** Seconds the process waits for the payout provider. */
export const payoutTimeout = { seconds: 0.05 };

export interface PayoutWorld {
  readonly app: Cqrs;
  readonly store: MemoryProcessStore;
  readonly processes: ReturnType<typeof createProcessManager>;
  /** Commands the workers received, as `<type> <payoutId>[ <why>]`. */
  readonly commands: string[];
  close(): Promise<void>;
}

/**
 * The app with the process manager, a worker that records the commands, and (by default)
 * a provider that reserves funds at once and leaves the payout unanswered.
 */
export async function payoutWorld(
  options: {
    transport?: Transport;
    scheduler?: MessageScheduler;
    concurrency?: ProcessManagerOptions['concurrency'];
  } = {},
): Promise<PayoutWorld> {
  const transport = options.transport ?? createMemoryTransport();
  const app = createCqrs({
    logger: silentLogger,
    transport,
    transactionManager: createMemoryTransactionManager(),
  });
  const store = createMemoryProcessStore();
  const processes = createProcessManager(app, {
    store,
    processes: [payoutProcess],
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  });
  const commands: string[] = [];
  app.commandBus.register(ReserveFunds, async (command) => {
    commands.push(`reserve ${command.payoutId}`);
    await app.eventBus.publish(new FundsReserved(command.payoutId));
  });
  app.commandBus.register(SendPayout, (command) => void commands.push(`pay ${command.payoutId}`));
  app.commandBus.register(SettleFunds, (command) => void commands.push(`settle ${command.payoutId}`));
  app.commandBus.register(ReleaseFunds, (command) => {
    commands.push(`release ${command.payoutId} ${command.why}`);
  });
  const worker = await app.startWorker({ retry: { attempts: 1, backoff: { type: 'fixed', delayMs: 1 } } });
  return {
    app,
    store,
    processes,
    commands,
    async close() {
      await processes.close();
      await worker.close();
      await app.close();
    },
  };
}

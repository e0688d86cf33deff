// Event sourcing on the memory event store: how fast events are appended, and how fast a
// 10,000-event aggregate loads by full replay and from a snapshot.
//
//   cd packages/memory && npx tsx bench/event-sourcing-bench.ts
//   (env: EVENTS=10000, ROUNDS=5, SNAPSHOT_EVERY=100)
//
// Figures are medians over ROUNDS; each round uses a fresh store. In-process only: this measures
// the library's own overhead (serialisation, JSON copies, replay), not a database.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  AggregateRoot,
  DomainEvent,
  type EventInit,
  EventSourcedRepository,
  MessageRegistry,
  newId,
  snapshotEvery,
} from '@finaegis/core';

class Credited extends DomainEvent {
  static readonly messageType = 'bench.Credited';
  constructor(
    readonly amount: string,
    readonly reference: string,
    init?: EventInit,
  ) {
    super(init);
  }
}

class Ledger extends AggregateRoot<{ balance: string; entries: number }> {
  static override readonly aggregateType = 'bench.Ledger';
  balance = 0n;
  entries = 0;

  constructor(id: string) {
    super(id);
    this.on(Credited, (event) => {
      this.balance += BigInt(event.amount);
      this.entries += 1;
    });
  }

  credit(amountInCents: number): void {
    this.raise(new Credited(String(amountInCents), `ref-${this.entries}`));
  }

  override snapshot() {
    return { balance: this.balance.toString(), entries: this.entries };
  }
  override restore(state: { balance: string; entries: number }) {
    this.balance = BigInt(state.balance);
    this.entries = state.entries;
  }
}

export interface EventSourcingBenchOptions {
  readonly events?: number;
  readonly rounds?: number;
  readonly snapshotEvery?: number;
}

export interface EventSourcingBenchResult {
  readonly events: number;
  /** Raw `store.append` of one event per call, expected version checked. */
  readonly storeAppendsPerSecond: number;
  /** `raise` + `repository.save` of one event per save (serialise, append). */
  readonly repositorySavesPerSecond: number;
  /** Events per second appended through the repository in saves of 100 events. */
  readonly batchedEventsPerSecond: number;
  /** Loading the aggregate by replaying every event. */
  readonly replayMs: number;
  readonly replayEventsPerSecond: number;
  /** Loading the same aggregate from its latest snapshot plus the events after it. */
  readonly snapshotLoadMs: number;
  readonly snapshotEvery: number;
}

const registry = () => new MessageRegistry().register(Credited);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

export async function runEventSourcingBench(
  options: EventSourcingBenchOptions = {},
): Promise<EventSourcingBenchResult> {
  const events = options.events ?? 10_000;
  const rounds = options.rounds ?? 5;
  const every = options.snapshotEvery ?? 100;
  const storeAppend: number[] = [];
  const repositorySave: number[] = [];
  const batched: number[] = [];
  const replay: number[] = [];
  const snapshotLoad: number[] = [];

  for (let round = 0; round < rounds; round++) {
    const rawStore = createMemoryEventStore();
    storeAppend.push(
      await timed(async () => {
        for (let version = 0; version < events; version++) {
          await rawStore.append(
            'raw',
            [
              {
                eventId: newId(),
                type: 'bench.Credited',
                data: { amount: '1', reference: 'r' },
                metadata: {},
                occurredAt: Date.now(),
              },
            ],
            { expectedVersion: version },
          );
        }
      }),
    );

    const store = createMemoryEventStore();
    const plain = new EventSourcedRepository(Ledger, {
      store,
      registry: registry(),
      inUnitOfWork: () => false,
    });
    const ledger = plain.create('one-by-one');
    repositorySave.push(
      await timed(async () => {
        for (let i = 0; i < events; i++) {
          ledger.credit(i % 997);
          await plain.save(ledger);
        }
      }),
    );

    const snapshotting = new EventSourcedRepository(Ledger, {
      store,
      registry: registry(),
      inUnitOfWork: () => false,
      snapshotPolicy: snapshotEvery(every),
    });
    const big = snapshotting.create('batched');
    batched.push(
      await timed(async () => {
        for (let i = 0; i < events; i++) {
          big.credit(i % 997);
          if ((i + 1) % 100 === 0 || i === events - 1) await snapshotting.save(big);
        }
      }),
    );

    // The same 10,000 events, one stream without snapshots (full replay), one with.
    let replayed: Ledger | undefined;
    replay.push(await timed(async () => (replayed = await plain.load('one-by-one'))));
    let fromSnapshot: Ledger | undefined;
    snapshotLoad.push(await timed(async () => (fromSnapshot = await snapshotting.load('batched'))));
    if (
      replayed?.version !== events ||
      fromSnapshot?.version !== events ||
      replayed.balance !== fromSnapshot.balance
    ) {
      throw new Error('bench: the loaded aggregates disagree; the figures would be meaningless');
    }
  }

  const perSecond = (count: number, ms: number) => Math.round((count / ms) * 1000);
  const replayMs = median(replay);
  return {
    events,
    storeAppendsPerSecond: perSecond(events, median(storeAppend)),
    repositorySavesPerSecond: perSecond(events, median(repositorySave)),
    batchedEventsPerSecond: perSecond(events, median(batched)),
    replayMs: Number(replayMs.toFixed(2)),
    replayEventsPerSecond: perSecond(events, replayMs),
    snapshotLoadMs: Number(median(snapshotLoad).toFixed(3)),
    snapshotEvery: every,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runEventSourcingBench({
    events: Number(process.env.EVENTS ?? 10_000),
    rounds: Number(process.env.ROUNDS ?? 5),
    snapshotEvery: Number(process.env.SNAPSHOT_EVERY ?? 100),
  });
  const n = (value: number) => value.toLocaleString('en-US');
  console.log(
    `event sourcing on MemoryEventStore, ${n(result.events)} events (median of rounds), node ${process.version}`,
  );
  console.log(`  store.append, 1 event per call        ${n(result.storeAppendsPerSecond)} appends/s`);
  console.log(`  repository.save, 1 event per save     ${n(result.repositorySavesPerSecond)} events/s`);
  console.log(`  repository.save, 100 events per save  ${n(result.batchedEventsPerSecond)} events/s`);
  console.log(
    `  load by full replay                   ${result.replayMs} ms (${n(result.replayEventsPerSecond)} events/s)`,
  );
  console.log(`  load from snapshot (every ${result.snapshotEvery} events) ${result.snapshotLoadMs} ms`);
}

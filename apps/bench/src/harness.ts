import { Bench } from 'tinybench';

/** One operation, awaited; it creates its own message, as an application would. */
export type Operation = () => unknown;

/** One row of a comparison: the same work done by each contender (`ours`, `direct`, `nest`...). */
export interface Case {
  readonly name: string;
  /** What the row measures, for the README and the JSON. */
  readonly description: string;
  readonly contenders: Readonly<Record<string, Operation>>;
}

export interface RoundOptions {
  /** How many times the whole set of tasks is run; figures are medians over rounds. */
  readonly rounds: number;
  /** Milliseconds each task is measured for in one round. */
  readonly timeMs: number;
  /** Milliseconds each task is warmed up for in one round (after a fixed number of warm-up calls). */
  readonly warmupMs: number;
  /**
   * Operations per measured call. 1 (default) times every operation on its own, so the harness's
   * clock reads and awaits are in every figure; a larger batch runs that many operations back to
   * back per clock read, which shows the buses' own cost more sharply.
   */
  readonly batch: number;
  /** Called after each round, for progress lines. */
  readonly onRound?: (round: number, seconds: number) => void;
}

export interface CaseResult {
  readonly name: string;
  readonly description: string;
  /** Median over rounds of operations per second, per contender. */
  readonly median: Record<string, number>;
  /** Operations per second of each round, per contender. */
  readonly rounds: Record<string, number[]>;
  /** Median over rounds of `numerator / denominator`, filled in by the suite (see `medianRatio`). */
  ratios?: Record<string, number>;
  /** Median over rounds of the relative margin of error tinybench reported (percent of the mean latency). */
  readonly rme: Record<string, number>;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function batched(operation: Operation, batch: number): Operation {
  if (batch === 1) return operation;
  return async () => {
    for (let i = 0; i < batch; i++) await operation();
  };
}

/**
 * Runs every contender of every case in one tinybench run per round. The order of the contenders
 * turns by one each round, so that none is always measured first (colder) or last (after more
 * garbage). Operations per second are the mean rate of a round (calls / time spent in them), not
 * tinybench's mean of per-call rates, which a few fast samples pull up.
 */
export async function runRounds(cases: readonly Case[], options: RoundOptions): Promise<CaseResult[]> {
  const perRound = new Map<string, number[]>();
  const rmes = new Map<string, number[]>();
  const key = (c: string, contender: string) => `${c}\u0000${contender}`;
  for (let round = 0; round < options.rounds; round++) {
    const started = performance.now();
    const bench = new Bench({
      time: options.timeMs,
      warmupTime: options.warmupMs,
      warmupIterations: 1000,
      iterations: 64,
      throws: true,
    });
    for (const c of cases) {
      const names = Object.keys(c.contenders);
      const shift = round % names.length;
      for (const name of [...names.slice(shift), ...names.slice(0, shift)]) {
        bench.add(key(c.name, name), batched(c.contenders[name]!, options.batch));
      }
    }
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result === undefined || result.error !== undefined) {
        throw new Error(`benchmark task ${task.name.replace('\u0000', ' / ')} failed`, {
          cause: result?.error,
        });
      }
      const opsPerSecond = (1000 / result.latency.mean) * options.batch;
      (perRound.get(task.name) ?? perRound.set(task.name, []).get(task.name)!).push(opsPerSecond);
      (rmes.get(task.name) ?? rmes.set(task.name, []).get(task.name)!).push(result.latency.rme);
    }
    options.onRound?.(round + 1, (performance.now() - started) / 1000);
  }
  return cases.map((c) => {
    const result: CaseResult = { name: c.name, description: c.description, median: {}, rounds: {}, rme: {} };
    for (const name of Object.keys(c.contenders)) {
      const values = perRound.get(key(c.name, name)) ?? [];
      result.rounds[name] = values;
      result.median[name] = median(values);
      result.rme[name] = median(rmes.get(key(c.name, name)) ?? []);
    }
    return result;
  });
}

/**
 * The median over rounds of one contender's rate divided by another's in the same round. The
 * contenders of a case run back to back within a round, so they share whatever else the machine
 * was doing then; a ratio taken per round cancels much of the drift between rounds that a ratio
 * of the two medians would keep.
 */
export function medianRatio(result: CaseResult, numerator: string, denominator: string): number {
  const top = result.rounds[numerator] ?? [];
  const bottom = result.rounds[denominator] ?? [];
  return median(top.map((value, round) => value / bottom[round]!));
}

/** `1 234 567` style, readable in a terminal and in markdown. */
export function formatRate(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return Math.round(value).toLocaleString('en-US');
}

export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '–';
  return `${ratio.toFixed(2)}×`;
}

/** A markdown table: one row per line of cells, the first line being the header. */
export function markdownTable(
  rows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number>,
): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    `| ${row
      .map((cell, column) =>
        rightAligned.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join(' | ')} |`;
  const rule = `| ${widths.map((width, column) => (rightAligned.has(column) ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

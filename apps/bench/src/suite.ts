import type { CaseResult, RoundOptions } from './harness';

export type SuiteOptions = Omit<RoundOptions, 'onRound'> & {
  /** Run only the cases whose name starts with this (e.g. `dispatch`). */
  readonly only?: string | undefined;
  /** Progress lines (stderr), kept apart from the table on stdout. */
  readonly log: (line: string) => void;
};

/** A target a suite checks its figures against (e.g. "dispatch ≥ 1.2× Nest"). */
export interface TargetResult {
  readonly description: string;
  readonly ratio: number;
  readonly minimum: number;
  readonly met: boolean;
}

export interface SuiteResult {
  readonly suite: string;
  /** What each contender is, keyed as in the cases. */
  readonly contenders: Readonly<Record<string, string>>;
  readonly cases: readonly CaseResult[];
  /** The table (and targets) as markdown, for stdout and READMEs. */
  readonly markdown: string;
  readonly targets: readonly TargetResult[];
  /** How the comparison was kept fair; printed under the table and kept in the JSON. */
  readonly notes: readonly string[];
}

export interface Suite {
  readonly name: string;
  run(options: SuiteOptions): Promise<SuiteResult>;
}

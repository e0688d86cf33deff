// The Benchmarks page, generated from the result files apps/bench commits (`pnpm bench --save`
// writes results/<suite>-<date>.json): for each suite, its newest run in full (date, commit,
// machine, options, rates, ratios, targets, notes) and a line for each older run. `latest.json`
// (every run writes it, git ignores it) is left out, so the page shows only committed results.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { read } from './markdown';
import { type Finding, pagesDir, repoRoot } from './workspace';

/** The result directory of apps/bench. */
export const benchResultsDir = join(repoRoot, 'apps/bench/results');
/** The generated page (git-ignored). */
export const benchmarksPage = join(pagesDir, 'benchmarks.md');

/** One committed run, as apps/bench/src/run.ts writes it. */
export interface BenchResult {
  readonly suite: string;
  readonly date: string;
  readonly commit: string;
  readonly machine: {
    readonly node: string;
    readonly platform: string;
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGiB: number;
  };
  readonly options: {
    readonly rounds: number;
    readonly timeMs: number;
    readonly warmupMs: number;
    readonly batch: number;
  };
  readonly seconds: number;
  readonly contenders: Readonly<Record<string, string>>;
  readonly unit: string;
  readonly cases: ReadonlyArray<{
    readonly name: string;
    readonly description: string;
    readonly median: Readonly<Record<string, number>>;
    readonly ratios?: Readonly<Record<string, number>>;
  }>;
  readonly targets: ReadonlyArray<{
    readonly description: string;
    readonly ratio: number;
    readonly minimum: number;
    readonly met: boolean;
  }>;
  readonly notes: readonly string[];
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ratio = (value: number) => `${value.toFixed(2)}×`;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Reads the committed result files; a file that is not a result is a finding, not a crash. */
export function readResults(dir = benchResultsDir): {
  results: Array<{ file: string; result: BenchResult }>;
  findings: Finding[];
} {
  const results: Array<{ file: string; result: BenchResult }> = [];
  const findings: Finding[] = [];
  if (!existsSync(dir))
    return { results, findings: [{ where: 'apps/bench/results', message: 'no results directory' }] };
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.json') || file === 'latest.json') continue;
    try {
      const result = JSON.parse(read(join(dir, file))) as BenchResult;
      if (
        typeof result.suite !== 'string' ||
        !Array.isArray(result.cases) ||
        typeof result.machine !== 'object'
      )
        throw new Error('missing suite, cases or machine');
      results.push({ file, result });
    } catch (error) {
      findings.push({
        where: `apps/bench/results/${file}`,
        message: `not a bench result: ${(error as Error).message}`,
      });
    }
  }
  return { results, findings };
}

function machineLine(r: BenchResult): string {
  const m = r.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}`;
}

function renderRun(file: string, r: BenchResult): string {
  const contenders = Object.keys(r.contenders);
  const lines = [
    `| | |`,
    `|---|---|`,
    `| date | ${r.date.slice(0, 10)} (${r.date.slice(11, 16)} UTC) |`,
    `| commit | \`${r.commit}\` |`,
    `| machine | ${cell(machineLine(r))} |`,
    `| options | ${r.options.rounds} rounds × ${r.options.timeMs} ms (warm-up ${r.options.warmupMs} ms), batch ${r.options.batch}; the run took ${r.seconds} s |`,
    `| file | \`apps/bench/results/${file}\` |`,
    '',
    `Medians over rounds, ${r.unit}:`,
    '',
    `| operation | ${contenders.map((c) => `\`${c}\``).join(' | ')} |`,
    `|---|${contenders.map(() => '--:').join('|')}|`,
    ...r.cases.map(
      (c) =>
        `| ${cell(c.name)} | ${contenders.map((k) => (c.median[k] === undefined ? '—' : integer.format(c.median[k]))).join(' | ')} |`,
    ),
    '',
    'Ratios (median of the per-round ratios; above 1 means the first is faster):',
    '',
    '| operation | ratio | value |',
    '|---|---|--:|',
    ...r.cases.flatMap((c) =>
      Object.entries(c.ratios ?? {}).map(
        ([name, value]) => `| ${cell(c.name)} | \`${name}\` | ${ratio(value)} |`,
      ),
    ),
  ];
  if (r.targets.length > 0) {
    lines.push('', '| target | ratio | wanted | met |', '|---|--:|--:|---|');
    for (const t of r.targets)
      lines.push(
        `| ${cell(t.description)} | ${ratio(t.ratio)} | ≥ ${ratio(t.minimum)} | ${t.met ? 'yes' : 'no'} |`,
      );
  }
  lines.push('', 'The contenders:', '', ...contenders.map((k) => `- \`${k}\`: ${r.contenders[k]}`));
  if (r.notes.length > 0) lines.push('', 'Notes of the run:', '', ...r.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

/** The page's markdown for the given results. */
export function renderBenchmarksPage(results: ReadonlyArray<{ file: string; result: BenchResult }>): string {
  const suites = new Map<string, Array<{ file: string; result: BenchResult }>>();
  for (const entry of results)
    suites.set(entry.result.suite, [...(suites.get(entry.result.suite) ?? []), entry]);
  const out = [
    '---',
    'outline: [2, 3]',
    '---',
    '',
    '# Benchmarks',
    '',
    'This page is generated by the docs build from the result files that `apps/bench` commits',
    '(`pnpm bench --save` writes `apps/bench/results/<suite>-<date>.json`); it shows nothing that is not',
    'in those files. Every figure is measured side by side in the same run and read as a ratio: the',
    'absolute rates depend on the machine and on what else it was doing, the ratios much less.',
    '',
    'To measure on your machine: `pnpm bench` (the in-process buses against a direct call and',
    '@nestjs/cqrs), `pnpm bench otel` (the cost of the OpenTelemetry instrumentation), or',
    '`pnpm bench <package>` for an adapter against its raw client library (`bullmq`, `kafka`, `keyv`,',
    '`postgres`, `memory`; their figures are in each package README). Add `--save` to write a result',
    'file that this page will show.',
  ];
  if (suites.size === 0) out.push('', 'No result file is committed yet.');
  for (const [suite, runs] of [...suites].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...runs].sort((a, b) => b.result.date.localeCompare(a.result.date));
    const [newest, ...older] = sorted;
    if (newest === undefined) continue;
    out.push(
      '',
      `## Suite \`${suite}\``,
      '',
      `### Newest run: ${newest.result.date.slice(0, 10)}`,
      '',
      renderRun(newest.file, newest.result),
    );
    if (older.length > 0) {
      out.push('', '### Earlier runs', '', '| date | machine | ratios |', '|---|---|---|');
      for (const { result } of older) {
        const ratios = result.cases
          .flatMap((c) =>
            Object.entries(c.ratios ?? {}).map(([name, value]) => `${c.name} ${name} ${ratio(value)}`),
          )
          .join('; ');
        out.push(`| ${result.date.slice(0, 10)} | ${cell(machineLine(result))} | ${cell(ratios)} |`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/** Writes the page; returns the findings about unreadable result files. */
export function writeBenchmarksPage(): { findings: Finding[]; runs: number } {
  const { results, findings } = readResults();
  writeFileSync(benchmarksPage, renderBenchmarksPage(results));
  return { findings, runs: results.length };
}

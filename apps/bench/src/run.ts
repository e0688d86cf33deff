// Runs one benchmark suite and prints its table as markdown on stdout.
//
//   pnpm --filter finaegis-bench bench [suite] [--rounds 5] [--time 500] [--warmup 100] [--batch 1]
//     [--only <case>] [--save]
//
// Suites of this app run here; any other name runs the `bench` script of packages/<name> (the
// adapters keep their own benchmarks next to their code).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { coreSuite } from './core/suite';
import { otelSuite } from './otel/suite';
import type { Suite } from './suite';

const SUITES: Readonly<Record<string, Suite>> = { core: coreSuite, otel: otelSuite };

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = resolve(appDir, '../..');

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a whole number ≥ 1, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoDir, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function runPackageBench(name: string, args: readonly string[]): never {
  const manifest = join(repoDir, 'packages', name, 'package.json');
  const known = Object.keys(SUITES).join(', ');
  if (!existsSync(manifest)) {
    console.error(
      `unknown benchmark ${JSON.stringify(name)}: not a suite here (${known}) nor packages/${name}`,
    );
    process.exit(2);
  }
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
    name: string;
    scripts?: Record<string, string>;
  };
  if (pkg.scripts?.bench === undefined) {
    console.error(`packages/${name} (${pkg.name}) has no "bench" script`);
    process.exit(2);
  }
  const child = spawnSync('pnpm', ['--filter', pkg.name, 'run', 'bench', ...args], {
    cwd: repoDir,
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    // `pnpm bench -- --rounds 3` passes the `--` on; it separates nothing here.
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '5' },
      time: { type: 'string', default: '500' },
      warmup: { type: 'string', default: '100' },
      batch: { type: 'string', default: '1' },
      only: { type: 'string' },
      save: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: bench [suite] [--rounds 5] [--time 500] [--warmup 100] [--batch 1] [--only <case>] [--save]\n' +
        `suites: ${Object.keys(SUITES).join(', ')}, or a package name under packages/ with a bench script`,
    );
    return;
  }
  const name = positionals[0] ?? 'core';
  const suite = SUITES[name];
  if (suite === undefined) runPackageBench(name, positionals.slice(1));

  const options = {
    rounds: positiveInteger('rounds', values.rounds),
    timeMs: positiveInteger('time', values.time),
    warmupMs: positiveInteger('warmup', values.warmup),
    batch: positiveInteger('batch', values.batch),
  };
  const started = performance.now();
  const result = await suite.run({ ...options, only: values.only, log: (line) => console.error(line) });
  const seconds = (performance.now() - started) / 1000;

  const cpu = cpus();
  const report = {
    suite: result.suite,
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
    },
    options: { ...options, ...(values.only === undefined ? {} : { only: values.only }) },
    seconds: Math.round(seconds * 10) / 10,
    contenders: result.contenders,
    unit: 'operations per second',
    cases: result.cases,
    targets: result.targets,
    notes: result.notes,
  };

  const resultsDir = join(appDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(join(resultsDir, 'latest.json'), json);
  const written = ['results/latest.json'];
  if (values.save) {
    const file = `${result.suite}-${report.date.slice(0, 10)}.json`;
    writeFileSync(join(resultsDir, file), json);
    written.push(`results/${file}`);
  }

  console.log(
    `## ${result.suite} — ${report.machine.cpu} (${report.machine.cores} cores), Node ${process.version}\n`,
  );
  console.log(result.markdown);
  console.error(`\n${seconds.toFixed(1)} s; wrote ${written.join(', ')}`);
}

await main();

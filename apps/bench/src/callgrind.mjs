// Instructions per operation, counted by valgrind's callgrind: for each contender, two runs of a
// script that does N1 and N2 operations; (I(N2) − I(N1)) / (N2 − N1) leaves start-up, module
// loading and JIT warm-up out. N1 must be past V8's warm-up (tiering up, first collections), or
// the difference carries it. Needs `valgrind`. Used by the count-*instructions.mjs scripts.
import { spawnSync } from 'node:child_process';

function instructions(script, variant, count) {
  const run = spawnSync(
    'valgrind',
    // --single-threaded: V8 compiles and collects garbage on the main thread, in the same order on
    // every run, so that two runs differ by the operations only.
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--single-threaded',
      script,
      variant,
      String(count),
    ],
    { encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`${variant} ${count}: ${run.stderr}`);
  const match = /Collected : (\d+)/.exec(run.stderr);
  if (match === null) throw new Error(`no instruction count in valgrind's output:\n${run.stderr}`);
  return Number(match[1]);
}

/**
 * Counts instructions per operation of each variant of `script` and prints a markdown table with
 * the ratio to `baseline`. Arguments from the command line: [N1=50000] [N2=150000] [variants].
 */
export function countInstructions({ script, defaultVariants, baseline, operation }) {
  const [n1 = 50_000, n2 = 150_000] = process.argv.slice(2, 4).map(Number);
  const variants = (process.argv[4] ?? defaultVariants).split(',');
  const perOperation = {};
  for (const variant of variants) {
    perOperation[variant] =
      (instructions(script, variant, n2) - instructions(script, variant, n1)) / (n2 - n1);
    console.error(`${variant}: ${Math.round(perOperation[variant])} instructions per ${operation}`);
  }
  console.log(`| contender | instructions / ${operation} | × ${baseline} |`);
  console.log('| --- | --: | --: |');
  for (const [variant, count] of Object.entries(perOperation)) {
    console.log(
      `| ${variant} | ${Math.round(count).toLocaleString('en')} | ${(count / perOperation[baseline]).toFixed(2)}× |`,
    );
  }
}

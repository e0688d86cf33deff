// Instructions per askCached hit against the hand-written cache-aside of the core suite, counted
// by valgrind's callgrind: for each contender, two runs of cached-instructions.mjs (N1 and N2 hits);
// (I(N2) − I(N1)) / (N2 − N1) leaves start-up, module loading and JIT warm-up out. Needs `valgrind`.
// Contenders: ours, oursOwnKey, direct, and oursTwoKeys, directTwoKeys (two queries in turn).
//   node src/core/count-cached-instructions.mjs [N1=50000] [N2=150000] [contenders=ours,direct]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const [n1 = 50_000, n2 = 150_000] = process.argv.slice(2, 4).map(Number);
const variants = (process.argv[4] ?? 'ours,direct').split(',');
const script = join(import.meta.dirname, 'cached-instructions.mjs');

function instructions(variant, count) {
  const run = spawnSync(
    'valgrind',
    // --single-threaded: V8 compiles and collects garbage on the main thread, in the same order on
    // every run, so that two runs differ by the dispatches only.
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

const perDispatch = {};
for (const variant of variants) {
  perDispatch[variant] = (instructions(variant, n2) - instructions(variant, n1)) / (n2 - n1);
  console.error(`${variant}: ${Math.round(perDispatch[variant])} instructions per hit`);
}
console.log('| contender | instructions / askCached hit | × direct |');
console.log('| --- | --: | --: |');
for (const [variant, count] of Object.entries(perDispatch)) {
  console.log(
    `| ${variant} | ${Math.round(count).toLocaleString('en')} | ${(count / perDispatch.direct).toFixed(2)}× |`,
  );
}

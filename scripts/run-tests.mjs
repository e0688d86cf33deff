#!/usr/bin/env node
// The README's test command: brings up the test services (reusing running ones), runs every
// package's tests through turbo, stops what it started, and prints one summary line.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const extraArgs = process.argv.slice(2);
const resultFiles = () =>
  ['packages', 'apps', '.']
    .flatMap((group) => {
      const base =
        group === '.'
          ? [join(root, 'scripts')]
          : readdirSync(join(root, group)).map((d) => join(root, group, d));
      return base.map((dir) => join(dir, 'test-results', 'vitest.json'));
    })
    .filter((file) => existsSync(file));

for (const file of resultFiles()) rmSync(file);

const servicesScript = join(root, 'scripts', 'services.mjs');
let env = { ...process.env };
let started = false;
if (existsSync(servicesScript)) {
  const up = spawnSync(
    process.execPath,
    [servicesScript, 'up', '--env-out', join(root, 'scripts', '.state', 'env.json')],
    {
      stdio: 'inherit',
      env,
    },
  );
  if (up.status !== 0) {
    console.error('[test] the test services could not be brought up (see above); not running the tests.');
    process.exit(up.status ?? 1);
  }
  const envFile = join(root, 'scripts', '.state', 'env.json');
  if (existsSync(envFile)) {
    const state = JSON.parse(readFileSync(envFile, 'utf8'));
    env = { ...env, ...state.env };
    started = Boolean(state.startedByThisRun);
  }
}

const turbo = spawnSync('pnpm', ['exec', 'turbo', 'run', 'test', '--concurrency=1', ...extraArgs], {
  stdio: 'inherit',
  env,
  cwd: root,
});

if (started && !process.env.FINAEGIS_KEEP_SERVICES) {
  spawnSync(process.execPath, [servicesScript, 'down'], { stdio: 'inherit', env });
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of resultFiles()) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  } catch {
    failed += 1;
  }
}
console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(turbo.status === 0 && failed === 0 ? 0 : turbo.status || 1);

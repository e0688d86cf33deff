#!/usr/bin/env node
// The README's test command: brings up the test services (reusing running ones), runs every
// package's tests through turbo, stops what it started, and prints one summary line.
//
// The summary counts what did not run as failed: turbo runs every package (`--continue`), and a
// package with a `test` script but no report, a test file that failed outside its tests (a
// `beforeAll` that threw, an import error) and a skipped test each count as one failure, named
// above the closing line. The exit code is non-zero whenever anything failed or did not run.
//
// FINAEGIS_TEST_SUMMARY=<file> also writes the figures as JSON (`.ci/run` adds up its runs with it).
//
// FINAEGIS_KAFKA_CLUSTER=1 adds the Kafka cluster tests after the others: `services.mjs up
// --kafka-cluster` brings up a three-broker cluster, `pnpm --filter @finaegis/kafka test:cluster`
// runs packages/kafka/test/cluster/ against it (they kill and restart its nodes), the cluster is
// stopped again if this run started it, and their report counts like any package's (a missing
// report is a failure). Without the variable they are not part of the run at all, and the run says
// so: a separate command, never a skip. `.ci/run` sets it for one of its two runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const extraArgs = process.argv.slice(2);
const clusterWanted = /^(1|true|yes)$/i.test(process.env.FINAEGIS_KAFKA_CLUSTER ?? '');
const kafkaDir = join(root, 'packages', 'kafka');
const cluster = {
  dir: kafkaDir,
  name: '@finaegis/kafka (cluster tests)',
  report: join(kafkaDir, 'test-results', 'vitest-cluster.json'),
  figures: join(kafkaDir, 'test-results', 'cluster-figures.log'),
};

/**
 * The packages whose `test` task this run includes (turbo's dry run with the same arguments, so a
 * `--filter` narrows what is expected), each with where its vitest JSON report lands.
 */
function testedPackages() {
  const dry = spawnSync('pnpm', ['exec', 'turbo', 'run', 'test', '--dry=json', ...extraArgs], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (dry.status !== 0) {
    console.error(`[test] turbo could not list the test tasks:\n${dry.stderr || dry.stdout}`);
    process.exit(1);
  }
  return JSON.parse(dry.stdout)
    .tasks.filter((task) => task.task === 'test' && task.command !== '<NONEXISTENT>')
    .map((task) => {
      const dir = join(root, task.directory);
      return { dir, name: task.package, report: join(dir, 'test-results', 'vitest.json') };
    });
}

/** The first line of an error message, short enough for one summary line. */
function firstLine(text) {
  const line = String(text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean);
  if (!line) return 'no message';
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** Reads one package's vitest JSON report into counts and named failures. */
function readReport(pkg) {
  const result = { passed: 0, failed: 0, failures: [] };
  if (!existsSync(pkg.report)) {
    result.failed = 1;
    result.failures.push(
      `${pkg.name}: its tests did not run (no report at ${relative(root, pkg.report)}; see turbo's output above)`,
    );
    return result;
  }
  let report;
  try {
    report = JSON.parse(readFileSync(pkg.report, 'utf8'));
  } catch (error) {
    result.failed = 1;
    result.failures.push(`${pkg.name}: its report could not be read (${firstLine(error.message)})`);
    return result;
  }
  const files = report.testResults ?? [];
  for (const file of files) {
    const where = `${pkg.name} ${relative(pkg.dir, file.name)}`;
    const tests = file.assertionResults ?? [];
    const failedTests = tests.filter((t) => t.status === 'failed');
    result.passed += tests.filter((t) => t.status === 'passed').length;
    result.failed += failedTests.length;
    for (const t of failedTests)
      result.failures.push(`${where} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`);
    if (file.status === 'failed' && failedTests.length === 0) {
      // The file failed outside its tests: a hook, an import, a collection error. Its tests were
      // reported skipped (or not at all); the file is the failure.
      result.failed += 1;
      result.failures.push(
        `${where}: the file failed before or around its tests: ${firstLine(file.message)}`,
      );
      continue;
    }
    for (const t of tests.filter((t) => t.status !== 'passed' && t.status !== 'failed')) {
      result.failed += 1;
      result.failures.push(
        `${where} > ${t.fullName}: ${t.status} (tests here never skip: make it run or fail)`,
      );
    }
  }
  if (files.length === 0 && report.success === false) {
    result.failed += 1;
    result.failures.push(`${pkg.name}: vitest reported failure without any test file`);
  }
  return result;
}

function summarise(packages) {
  let passed = 0;
  let failed = 0;
  const failures = [];
  for (const pkg of packages) {
    const r = readReport(pkg);
    passed += r.passed;
    failed += r.failed;
    failures.push(...r.failures);
  }
  return { passed, failed, failures };
}

function finish(summary, turboStatus) {
  if (summary.failures.length > 0) {
    console.log(`\nfailed or did not run (${summary.failures.length}):`);
    for (const line of summary.failures) console.log(`  - ${line}`);
  }
  if (process.env.FINAEGIS_TEST_SUMMARY) {
    mkdirSync(dirname(process.env.FINAEGIS_TEST_SUMMARY), { recursive: true });
    writeFileSync(process.env.FINAEGIS_TEST_SUMMARY, `${JSON.stringify(summary, null, 2)}\n`);
  }
  console.log(`\ntests: ${summary.passed} passed, ${summary.failed} failed`);
  process.exit(summary.failed === 0 && turboStatus === 0 ? 0 : 1);
}

/** What the suites need besides the services; missing, they fail, and this says why up front. */
function checkPrerequisites() {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    console.error(
      `[test] MISSING Chromium at ${chromium}: the demo's browser test will fail. ` +
        'Install it with `apt-get install -y chromium` (Debian), or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
}

/**
 * The cluster tests (see the top of the file). Returns their package entry for the summary, or
 * undefined when they were not asked for.
 */
function runClusterTests(baseEnv) {
  if (!clusterWanted) {
    console.log(
      '\n[test] Kafka cluster tests: not part of this run (FINAEGIS_KAFKA_CLUSTER=1 adds them; .ci/run does in one of its runs)',
    );
    return undefined;
  }
  const since = Date.now();
  const secondsSince = (t) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
  console.log('\n[test] Kafka cluster tests: bringing up the three-broker cluster');
  const envFile = join(root, 'scripts', '.state', 'env-cluster.json');
  const up = spawnSync(process.execPath, [servicesScript, 'up', '--kafka-cluster', '--env-out', envFile], {
    stdio: 'inherit',
    env: baseEnv,
  });
  const upTook = secondsSince(since);
  let clusterEnv = baseEnv;
  let startedCluster = false;
  if (existsSync(envFile)) {
    const state = JSON.parse(readFileSync(envFile, 'utf8'));
    clusterEnv = { ...baseEnv, ...state.env };
    startedCluster = Boolean(state.clusterStartedByThisRun);
  }
  const testsSince = Date.now();
  if (up.status === 0) {
    spawnSync('pnpm', ['--filter', '@finaegis/kafka', 'test:cluster'], {
      stdio: 'inherit',
      env: clusterEnv,
      cwd: root,
    });
  } else {
    console.error('[test] the Kafka cluster could not be brought up (see above); its tests did not run.');
  }
  const testsTook = secondsSince(testsSince);
  const downSince = Date.now();
  if (startedCluster && !process.env.FINAEGIS_KEEP_SERVICES) {
    spawnSync(process.execPath, [servicesScript, 'down', '--kafka-cluster'], {
      stdio: 'inherit',
      env: baseEnv,
    });
  }
  if (existsSync(cluster.figures)) {
    console.log('\n[test] Kafka cluster figures:');
    for (const line of readFileSync(cluster.figures, 'utf8').trim().split('\n')) console.log(`  ${line}`);
  }
  console.log(
    `[test] Kafka cluster tests took ${secondsSince(since)} (cluster up ${upTook}, tests ${testsTook}, ` +
      `cluster down ${secondsSince(downSince)})`,
  );
  return cluster;
}

const packages = testedPackages();
for (const pkg of packages) rmSync(pkg.report, { force: true });
if (clusterWanted) for (const file of [cluster.report, cluster.figures]) rmSync(file, { force: true });
checkPrerequisites();

const servicesScript = join(root, 'scripts', 'services.mjs');
let env = { ...process.env };
let started = false;
if (existsSync(servicesScript)) {
  const up = spawnSync(
    process.execPath,
    [servicesScript, 'up', '--env-out', join(root, 'scripts', '.state', 'env.json')],
    {
      stdio: 'inherit',
      // The cluster comes up only for its own tests, after the others (runClusterTests).
      env: { ...env, FINAEGIS_KAFKA_CLUSTER: '' },
    },
  );
  if (up.status !== 0) {
    console.error('[test] the test services could not be brought up (see above); not running the tests.');
    finish(summarise(clusterWanted ? [...packages, cluster] : packages), up.status ?? 1);
  }
  const envFile = join(root, 'scripts', '.state', 'env.json');
  if (existsSync(envFile)) {
    const state = JSON.parse(readFileSync(envFile, 'utf8'));
    env = { ...env, ...state.env };
    started = Boolean(state.startedByThisRun);
  }
}

// --continue: a failing package must not keep the ones after it from running.
const turbo = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'test', '--concurrency=1', '--continue', ...extraArgs],
  {
    stdio: 'inherit',
    env,
    cwd: root,
  },
);

const clusterTests = runClusterTests(env);

if (started && !process.env.FINAEGIS_KEEP_SERVICES) {
  spawnSync(process.execPath, [servicesScript, 'down'], { stdio: 'inherit', env });
}

const summary = summarise(clusterTests ? [...packages, clusterTests] : packages);
if (turbo.status !== 0 && summary.failed === 0) {
  // Turbo failed by itself (not through a package's tests): that still has to show in the count.
  summary.failed = 1;
  summary.failures.push(`turbo exited with ${turbo.status ?? turbo.signal} (see its output above)`);
}
finish(summary, turbo.status ?? 1);

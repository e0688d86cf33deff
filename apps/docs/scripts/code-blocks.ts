// Every TypeScript block on the site is compiled with tsc against the workspace packages' sources,
// and the runnable ones are run: inline blocks marked `run` (```ts run) and every example file under
// examples/ but those in examples/services/ (they need Redis, Kafka or PostgreSQL) and the vitest
// files (`*.test.ts`, which `pnpm test` runs). An example with a sibling `<name>.output.txt` must
// print exactly that text, which its page shows beside it.
//
// A block imports the examples as its page presents them (`from './exchange'` is
// examples/exchange.ts). A block marked `expect-error=2610` (or `expect-error=2610,4115`) shows
// code that must NOT compile (the guide's form, say): it passes only when tsc rejects it with each of
// those codes, and with no other.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { type CodeBlock, codeBlocks, type Include, includes, read } from './markdown';
import { rootCompilerOptions } from './tsdoc';
import { cacheDir, docsRoot, examplesDir, type Finding, fromRoot, pagesDir, repoRoot } from './workspace';

/** Languages of blocks that are not compiled: shell, the guide's PHP, output, data. */
export const PLAIN_LANGUAGES = new Set([
  'sh',
  'bash',
  'php',
  'text',
  'txt',
  'json',
  'sql',
  'dotenv',
  'ini',
  'yaml',
]);
/** Languages of blocks that are compiled. */
export const TYPESCRIPT = new Set(['ts', 'typescript']);

/** A block or example file as tsc sees it, and where a diagnostic in it is reported. */
interface Unit {
  readonly file: string;
  readonly origin: (line: number) => string;
  readonly run: boolean;
  readonly expected: string | undefined;
  /** For `expect-error=N,M` blocks: the diagnostic codes tsc must report (and no others). */
  readonly expectErrors?: readonly number[];
}

/** `expect-error=2610,4115` → [2610, 4115]. */
function expectedErrors(meta: readonly string[]): number[] | undefined {
  const word = meta.find((m) => m.startsWith('expect-error='));
  if (word === undefined) return undefined;
  return word
    .slice('expect-error='.length)
    .split(',')
    .map((code) => Number(code.trim().replace(/^TS/i, '')));
}

/** Points `from './name'` at examples/name.ts, where the block's page says the file is. */
function resolveExampleImports(code: string, blockFile: string): string {
  return code.replace(
    /(from\s+['"])\.\/([\w-]+)(['"])/g,
    (whole, open: string, name: string, close: string) => {
      const target = join(examplesDir, `${name}.ts`);
      if (!existsSync(target)) return whole;
      const path = relative(dirname(blockFile), target).split('\\').join('/');
      return `${open}${path.startsWith('.') ? path : `./${path}`}${close}`;
    },
  );
}

/** Every `.ts` file under `dir`. */
function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return tsFiles(path);
      return entry.endsWith('.ts') ? [path] : [];
    });
}

/** The checks of one page's blocks and includes that need no compiler. */
export function checkBlocksAndIncludes(blocks: readonly CodeBlock[], found: readonly Include[]): Finding[] {
  const findings: Finding[] = [];
  for (const block of blocks) {
    if (TYPESCRIPT.has(block.lang) || PLAIN_LANGUAGES.has(block.lang)) continue;
    findings.push({
      where: `${block.page}:${block.line}`,
      message: `a code block in "${block.lang || '(no language)'}": write TypeScript as \`ts\` (it is compiled) or mark it as one of ${[...PLAIN_LANGUAGES].join(', ')}`,
    });
  }
  for (const include of found) {
    const file = resolve(pagesDir, include.path);
    const where = `${include.page}:${include.line}`;
    if (!existsSync(file)) {
      findings.push({ where, message: `includes ${include.path}, which does not exist` });
      continue;
    }
    if (file.endsWith('.ts') && !file.startsWith(examplesDir)) {
      findings.push({
        where,
        message: `includes ${include.path}: TypeScript on a page comes from apps/docs/examples/, which is compiled`,
      });
    }
    if (include.region !== undefined) {
      const text = read(file);
      const start = new RegExp(`#region ${include.region}\\b`);
      const end = new RegExp(`#endregion ${include.region}\\b`);
      if (!start.test(text) || !end.test(text))
        findings.push({
          where,
          message: `includes region "${include.region}" of ${include.path}, which has no such region`,
        });
    }
  }
  return findings;
}

/** Writes each TypeScript block to its own module under .cache/blocks (for tsc and for running). */
function writeBlocks(blocks: readonly CodeBlock[]): Unit[] {
  const dir = join(cacheDir, 'blocks');
  rmSync(dir, { recursive: true, force: true });
  return blocks
    .filter((block) => TYPESCRIPT.has(block.lang))
    .map((block) => {
      const file = join(dir, block.page.replace(/[/\\.]/g, '_'), `line-${block.line}.ts`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${resolveExampleImports(block.code, file)}\n`);
      const expectErrors = expectedErrors(block.meta);
      return {
        file,
        origin: (line: number) => `${block.page}:${block.line + line}`,
        run: block.meta.includes('run') && expectErrors === undefined,
        expected: undefined,
        ...(expectErrors === undefined ? {} : { expectErrors }),
      };
    });
}

/** The example files: compiled all, run but those under examples/services/. */
function exampleUnits(): Unit[] {
  const services = join(examplesDir, 'services');
  return tsFiles(examplesDir).map((file) => {
    const output = file.replace(/\.ts$/, '.output.txt');
    return {
      file,
      origin: (line: number) => `${fromRoot(file)}:${line}`,
      run: !file.startsWith(services) && !file.endsWith('.test.ts'),
      expected: existsSync(output) ? read(output) : undefined,
    };
  });
}

/** Compiles every unit in one program; a diagnostic points at the page line or example line. */
function compile(units: readonly Unit[]): Finding[] {
  const options: ts.CompilerOptions = {
    ...rootCompilerOptions(),
    noEmit: true,
    moduleDetection: ts.ModuleDetectionKind.Force,
  };
  const program = ts.createProgram(
    units.map((u) => u.file),
    options,
  );
  const byFile = new Map(units.map((u) => [resolve(u.file), u]));
  const findings: Finding[] = [];
  const diagnostics = ts.getPreEmitDiagnostics(program);
  for (const unit of units) {
    if (unit.expectErrors === undefined) continue;
    const own = diagnostics.filter(
      (d) => d.file !== undefined && resolve(d.file.fileName) === resolve(unit.file),
    );
    const missing = unit.expectErrors.filter((code) => !own.some((d) => d.code === code));
    if (missing.length > 0)
      findings.push({
        where: unit.origin(0).replace(/:0$/, ''),
        message: `marked expect-error=${unit.expectErrors.join(',')}, but tsc ${own.length === 0 ? 'accepts it' : `reports only ${[...new Set(own.map((d) => `TS${d.code}`))].join(', ')}`}`,
      });
  }
  for (const diagnostic of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const file = diagnostic.file;
    if (file === undefined || diagnostic.start === undefined) {
      findings.push({ where: 'tsc', message: `TS${diagnostic.code}: ${message}` });
      continue;
    }
    const line = file.getLineAndCharacterOfPosition(diagnostic.start).line + 1;
    const unit = byFile.get(resolve(file.fileName));
    if (unit?.expectErrors?.includes(diagnostic.code)) continue;
    findings.push({
      where: unit === undefined ? `${fromRoot(file.fileName)}:${line}` : unit.origin(line),
      message: `TS${diagnostic.code}: ${message}`,
    });
  }
  return findings;
}

/** Runs one unit with tsx (workspace packages from their sources); a failure is a finding. */
function run(unit: Unit, timeoutMs: number): Finding | undefined {
  const result = spawnSync(process.execPath, ['--import', 'tsx', unit.file], {
    cwd: docsRoot,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(docsRoot, 'tsconfig.json'), NODE_NO_WARNINGS: '1' },
  });
  const where = unit.origin(0).replace(/:0$/, '');
  if (result.error !== undefined || result.status !== 0) {
    const why =
      result.error?.message ?? `exit code ${result.status}${result.signal ? ` (${result.signal})` : ''}`;
    const tail = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').slice(-8).join('\n');
    return { where, message: `running it failed: ${why}\n${tail}` };
  }
  if (unit.expected !== undefined && result.stdout.trim() !== unit.expected.trim()) {
    return {
      where,
      message: `it printed\n${result.stdout.trim()}\nbut ${relative(repoRoot, unit.file.replace(/\.ts$/, '.output.txt'))} (shown on its page) says\n${unit.expected.trim()}`,
    };
  }
  return undefined;
}

/** What `checkCode` did, for the build's summary. */
export interface CodeCheckResult {
  readonly findings: Finding[];
  readonly compiled: number;
  readonly ran: number;
}

/** Compiles every TypeScript block of `pages` and every example, then runs the runnable ones. */
export function checkCode(pages: readonly string[], options: { timeoutMs?: number } = {}): CodeCheckResult {
  const blocks: CodeBlock[] = [];
  const found: Include[] = [];
  for (const page of pages) {
    const text = read(page);
    blocks.push(...codeBlocks(text, fromRoot(page)));
    found.push(...includes(text, fromRoot(page)));
  }
  const findings = checkBlocksAndIncludes(blocks, found);
  const units = [...writeBlocks(blocks), ...exampleUnits()];
  const compileFindings = compile(units);
  findings.push(...compileFindings);
  let ran = 0;
  // Running code that does not compile tells nothing new.
  if (compileFindings.length === 0) {
    for (const unit of units.filter((u) => u.run)) {
      ran += 1;
      const finding = run(unit, options.timeoutMs ?? 60_000);
      if (finding !== undefined) findings.push(finding);
    }
  }
  return { findings, compiled: units.length, ran };
}

// `pnpm docs:build` and `pnpm run docs` (`pnpm docs:dev`). The build runs every check and fails (exit code 1) when any
// finds something, listing each finding with the file and line to fix:
//   1. entry points: every published entry point (package.json `exports`) has a source;
//   2. API reference: TypeDoc over every entry point; an export without TSDoc, missing from the
//      reference, a broken {@link} or an unexported type the reference needs fails;
//   3. the Benchmarks page from apps/bench/results;
//   4. "From the guide" covers every section of the guide;
//   5. every TypeScript block and example compiles against the workspace packages, and the
//      runnable ones run on the memory adapters;
//   6. VitePress builds the site (it fails on a link to a missing page);
//   7. every internal link of the built site reaches its page and anchor.
// `pnpm run docs` generates the reference and the Benchmarks page, then serves the site with reload.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, createServer } from 'vitepress';
import { apiDir, buildApiReference } from './api-reference';
import { writeBenchmarksPage } from './benchmarks';
import { checkCode } from './code-blocks';
import { checkGuideCoverage } from './guide-coverage';
import { checkLinks } from './links';
import { markdownFiles } from './markdown';
import { docsRoot, type Finding, fromRoot, pagesDir, publicEntryPoints } from './workspace';

const distDir = join(docsRoot, '.vitepress/dist');

interface StepResult {
  readonly findings: readonly Finding[];
  readonly summary: string;
}

async function step(name: string, run: () => Promise<StepResult> | StepResult): Promise<number> {
  const started = performance.now();
  let result: StepResult;
  try {
    result = await run();
  } catch (error) {
    result = {
      findings: [{ where: name, message: error instanceof Error ? error.message : String(error) }],
      summary: 'threw',
    };
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.findings.length === 0) {
    console.log(`[docs] ${name}: ok, ${result.summary} (${seconds} s)`);
    return 0;
  }
  console.log(`[docs] ${name}: ${result.findings.length} problem(s), ${result.summary} (${seconds} s)`);
  for (const finding of result.findings)
    console.log(`  - ${finding.where}: ${finding.message.replace(/\n/g, '\n      ')}`);
  return result.findings.length;
}

/** The page a built file comes from, for link findings. */
function sourceOf(htmlPath: string): string {
  const page = htmlPath.replace(/\.html$/, '.md');
  const generated = page.startsWith('api/') ? ' (generated from TSDoc)' : '';
  return `${fromRoot(join(pagesDir, page))}${generated}`;
}

async function buildSite(): Promise<number> {
  const started = performance.now();
  const { entries, findings: entryFindings } = publicEntryPoints();
  let failed = 0;
  failed += await step('entry points', () => ({
    findings: entryFindings,
    summary: `${entries.length} entry points: ${entries.map((e) => e.specifier).join(', ')}`,
  }));
  failed += await step('API reference (TypeDoc, TSDoc on every export)', async () => {
    const { findings, exports } = await buildApiReference(entries);
    return {
      findings,
      summary: `${exports} exports of ${entries.length} entry points, each documented and listed`,
    };
  });
  failed += await step('Benchmarks page', () => {
    const { findings, runs } = writeBenchmarksPage();
    return { findings, summary: `${runs} committed run(s) of apps/bench` };
  });
  failed += await step('"From the guide" covers the guide', () => {
    const { findings, sections, comparedWithGuide } = checkGuideCoverage();
    return {
      findings,
      summary: `${sections} sections${comparedWithGuide ? ', list compared with the guide' : ' (the guide itself is not beside the repository; list only)'}`,
    };
  });
  failed += await step('code blocks compile and run', () => {
    const pages = markdownFiles(pagesDir, new Set([apiDir]));
    const { findings, compiled, ran } = checkCode(pages);
    return {
      findings,
      summary: `${compiled} blocks and examples compiled with tsc, ${ran} run on the memory adapters`,
    };
  });
  const built = await step('VitePress build', async () => {
    await build(docsRoot);
    return { findings: [], summary: `site in ${relative(process.cwd(), distDir) || distDir}` };
  });
  failed += built;
  if (built === 0 || existsSync(distDir)) {
    failed += await step('internal links', () => {
      const { findings, links } = checkLinks(distDir, sourceOf);
      return { findings, summary: `${links} links checked` };
    });
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (failed > 0) console.log(`[docs] docs:build failed: ${failed} problem(s) above (${seconds} s)`);
  else console.log(`[docs] docs:build passed: every check ran clean (${seconds} s)`);
  return failed;
}

async function serve(args: readonly string[]): Promise<void> {
  const { entries } = publicEntryPoints();
  await step('API reference', async () => {
    const { findings, exports } = await buildApiReference(entries);
    return { findings, summary: `${exports} exports (problems here fail docs:build, not the preview)` };
  });
  await step('Benchmarks page', () => {
    const { findings, runs } = writeBenchmarksPage();
    return { findings, summary: `${runs} run(s)` };
  });
  const portIndex = args.indexOf('--port');
  const port = portIndex >= 0 ? Number(args[portIndex + 1]) : undefined;
  const server = await createServer(docsRoot, port === undefined ? {} : { port });
  await server.listen();
  server.printUrls();
}

const [command = 'build', ...rest] = process.argv.slice(2);
if (command === 'build') {
  process.exitCode = (await buildSite()) === 0 ? 0 : 1;
} else if (command === 'serve') {
  await serve(rest);
} else {
  console.error('usage: docs.ts build | serve [--port N]');
  process.exitCode = 2;
}

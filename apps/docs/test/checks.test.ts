// The docs build's checks, each shown failing on a small fixture (and, where it is cheap, passing
// on the real site): a check that cannot fail protects nothing.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readResults, renderBenchmarksPage } from '../scripts/benchmarks';
import { checkBlocksAndIncludes } from '../scripts/code-blocks';
import { GUIDE_SECTIONS, guidePage, missingSections, sectionsOf } from '../scripts/guide-coverage';
import { checkLinks } from '../scripts/links';
import { codeBlocks, includes } from '../scripts/markdown';
import { exportedNames, undocumentedExports } from '../scripts/tsdoc';
import { publicEntryPoints } from '../scripts/workspace';

const scratch = () => mkdtempSync(join(tmpdir(), 'finaegis-docs-'));

describe('undocumented exports', () => {
  test('names exactly the export without TSDoc, with its entry point and line', () => {
    const dir = scratch();
    const file = join(dir, 'index.ts');
    writeFileSync(
      file,
      [
        '/** Documented. */',
        'export const documented = 1;',
        'export interface Bare { readonly x: number }',
        '/** @internal */',
        'export function hidden(): void {}',
        "export { documented as again } from './index';",
      ].join('\n'),
    );
    const names = exportedNames([{ specifier: '@acme/fixture', packageName: '@acme/fixture', file }]);
    expect(names.map((n) => n.name).sort()).toEqual(['Bare', 'again', 'documented']);
    const findings = undocumentedExports(names);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.message).toContain('@acme/fixture exports Bare (interface) without a TSDoc comment');
    expect(findings[0]?.where).toMatch(/index\.ts:3$/);
  });

  test('every public entry point of the repository has a source and every export is documented', () => {
    const { entries, findings } = publicEntryPoints();
    expect(findings).toEqual([]);
    expect(entries.map((e) => e.specifier)).toContain('@finaegis/core/adapter');
    expect(undocumentedExports(exportedNames(entries))).toEqual([]);
  });

  test('a published entry point without a paths entry is a finding', () => {
    const root = scratch();
    mkdirSync(join(root, 'packages/thing'), { recursive: true });
    writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { paths: {} } }));
    writeFileSync(
      join(root, 'packages/thing/package.json'),
      JSON.stringify({
        name: '@acme/thing',
        exports: { '.': {}, './extra': {}, './package.json': './package.json' },
      }),
    );
    const { entries, findings } = publicEntryPoints(root);
    expect(entries).toEqual([]);
    expect(findings.map((f) => f.message.split(' has no')[0])).toEqual([
      'the entry point @acme/thing',
      'the entry point @acme/thing/extra',
    ]);
  });
});

describe('internal links', () => {
  test('reports a missing page and a missing anchor, and passes good links', () => {
    const dist = scratch();
    mkdirSync(join(dist, 'guide'));
    writeFileSync(
      join(dist, 'index.html'),
      '<a href="/guide/">ok</a><a href="/guide/index.html#here">ok</a>',
    );
    writeFileSync(
      join(dist, 'guide/index.html'),
      '<h2 id="here">x</h2><a href="#gone">bad anchor</a><a href="/nowhere.html">bad page</a><a href="https://example.org/x">out</a>',
    );
    const { findings, links } = checkLinks(dist, (page) => page);
    expect(links).toBe(4);
    expect(findings).toEqual([
      { where: 'guide/index.html', message: 'links to #gone, but guide/index.html has no anchor "gone"' },
      { where: 'guide/index.html', message: 'links to /nowhere.html, which is no page of the site' },
    ]);
  });
});

describe('code blocks', () => {
  const page = [
    '# Page',
    '',
    '```ts run',
    'const a = 1;',
    '```',
    '',
    '```js',
    'var b = 2;',
    '```',
    '',
    '<<< @/../examples/exchange.ts#messages',
    '<<< @/../examples/exchange.ts#no-such-region',
    '<<< @/../examples/nothing-here.ts',
  ].join('\n');

  test('finds blocks with their language, words and line', () => {
    const blocks = codeBlocks(page, 'p.md');
    expect(blocks.map((b) => [b.lang, b.meta, b.line, b.code])).toEqual([
      ['ts', ['run'], 3, 'const a = 1;'],
      ['js', [], 7, 'var b = 2;'],
    ]);
  });

  test('refuses a language it does not compile, a missing region and a missing file', () => {
    const findings = checkBlocksAndIncludes(codeBlocks(page, 'p.md'), includes(page, 'p.md'));
    expect(findings.map((f) => f.where)).toEqual(['p.md:7', 'p.md:12', 'p.md:13']);
    expect(findings[0]?.message).toContain('a code block in "js"');
    expect(findings[1]?.message).toContain('no such region');
    expect(findings[2]?.message).toContain('does not exist');
  });
});

describe('"From the guide"', () => {
  test('a section missing or out of order is named', () => {
    const page = sectionsOf('## Overview\n### Command Pattern\n## CQRS Implementation\n');
    const sections = [
      [2, 'Overview'],
      [2, 'CQRS Implementation'],
      [3, 'Command Pattern'],
    ] as const;
    expect(missingSections(page, sections)).toEqual(['### Command Pattern (after ## CQRS Implementation)']);
  });

  test('the page covers every section of the guide', () => {
    expect(missingSections(sectionsOf(readFileSync(guidePage, 'utf8')))).toEqual([]);
    expect(GUIDE_SECTIONS).toHaveLength(44);
  });
});

describe('Benchmarks page', () => {
  test('shows the date, the machine and the ratios of the committed runs', () => {
    const { results, findings } = readResults();
    expect(findings).toEqual([]);
    const newest = results.map((r) => r.result).sort((a, b) => b.date.localeCompare(a.date))[0];
    expect(newest).toBeDefined();
    const page = renderBenchmarksPage(results);
    expect(page).toContain(`### Newest run: ${newest?.date.slice(0, 10)}`);
    expect(page).toContain(`${newest?.machine.cores} cores`);
    expect(page).toMatch(/\| dispatch \| `ours\/nest` \| \d+\.\d\d× \|/);
  });

  test('a result file it cannot read is a finding', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'core-2026-01-01.json'), '{"suite":"core"}');
    writeFileSync(join(dir, 'latest.json'), 'ignored');
    const { results, findings } = readResults(dir);
    expect(results).toEqual([]);
    expect(findings).toEqual([
      {
        where: 'apps/bench/results/core-2026-01-01.json',
        message: 'not a bench result: missing suite, cases or machine',
      },
    ]);
  });
});
